"""The painted parts of the default avatar: background, clothes, head, eyes, hair."""

from __future__ import annotations

import cv2
import numpy as np

from generation.pipeline.avatar.canvas import (  # the painter's shared vocabulary
    _CHIN_Y,
    _CX,
    _EYE_DX,
    _EYE_HW,
    _EYE_LO,
    _EYE_UP,
    _EYE_Y,
    _HAIR,
    _HEAD_A,
    _HEAD_BB,
    _HEAD_BT,
    _HEAD_CY,
    _IRIS_DY,
    _IRIS_R,
    _JACKET,
    _LIP_LO,
    _LIP_LOWER,
    _LIP_UP,
    _LIP_UPPER,
    _MOUTH_HW,
    _MOUTH_Y,
    _NOSE_Y,
    _SHIRT,
    _SKIN,
    _SKIN_SHADOW,
    _Canvas,
    _curve,
    _gauss,
    _lit,
    _normals,
    _rgb,
    _smooth,
    _stroke,
    _unit,
)


def _background(c: _Canvas) -> None:
    # Smooth everywhere: paint at 1/8 resolution and upsample.
    m = c.n // 8
    v = (np.arange(m, dtype=np.float32) + 0.5) / m
    x, y = np.meshgrid(v, v)
    t = y[..., None]
    base = _rgb(220, 226, 232) * (1 - t) + _rgb(168, 180, 194) * t
    base += _gauss(x, y, 0.5, 0.36, 0.28, 0.3)[..., None] * 0.10
    c.img[:] = cv2.resize(base, (c.n, c.n), interpolation=cv2.INTER_LINEAR)


def _torso(c: _Canvas) -> None:
    sl, x, y = c.grid(0, 0.62, 1, 1)
    # Shoulders: a rounded mass whose top follows a smooth shoulder line.
    dx = np.abs(x - _CX)
    top = (
        0.70 + 0.055 * _smooth(0.07, 0.30, dx) + 1.4 * np.clip(dx - 0.29, 0, None) ** 2
    )
    mask = _smooth(-0.002, 0.002, y - top)
    # Normals of a wide ellipsoid give the jacket its form (smooth: lit at 1/4 scale).
    xs, ys = x[::4, ::4], y[::4, ::4]
    ex, ey = (xs - _CX) / 0.5, (ys - 1.1) / 0.42
    hz = np.sqrt(np.clip(1 - ex**2 - ey**2, 0.05, 1))
    nrm = _unit(ex, ey, hz)
    jacket = _lit(np.broadcast_to(_JACKET, nrm.shape), nrm, 0.45, 0.06, 8)
    jacket = cv2.resize(
        jacket, (x.shape[1], x.shape[0]), interpolation=cv2.INTER_LINEAR
    )
    c.blend(sl, mask, jacket)
    # Shirt V, its shading, and the lapel edges.
    v = np.array(
        [
            [_CX - 0.1, 0.71],
            [_CX + 0.1, 0.71],
            [_CX + 0.075, 0.79],
            [_CX, 0.94],
            [_CX - 0.075, 0.79],
        ]
    )
    m, s = c.poly(v, 0.0008)
    c.blend(s, m, _SHIRT * 0.96)
    for side in (-1, 1):
        lapel = _stroke(
            np.array(
                [
                    [_CX + side * 0.105, 0.722],
                    [_CX + side * 0.08, 0.79],
                    [_CX + side * 0.003, 0.94],
                ]
            ),
            0.005,
            0.003,
        )
        m, s = c.poly(lapel, 0.0015)
        c.multiply(s, m, np.float32(0.55), 0.8)


def _collar(c: _Canvas) -> None:
    for side in (-1, 1):
        collar = np.array(
            [
                [_CX + side * 0.074, 0.672],
                [_CX + side * 0.1, 0.705],
                [_CX + side * 0.088, 0.80],
                [_CX + side * 0.03, 0.778],
                [_CX + side * 0.056, 0.735],
                [_CX + side * 0.07, 0.70],
            ]
        )
        m, s = c.poly(collar[2:4] + [0.0, 0.004], 0.004)
        c.multiply(s, m, np.float32(0.75))
        m, s = c.poly(_stroke(collar[2:4] + [0.0, 0.003], 0.006, 0.006), 0.003)
        c.multiply(s, m, np.float32(0.7))
        m, s = c.poly(collar, 0.0008)
        x, y = c.coords(s)
        shade = (0.86 + 0.14 * _smooth(0.68, 0.76, y) * (1.0 if side < 0 else 0.85))[
            ..., None
        ]
        c.blend(s, m, _SHIRT * shade)


def _neck(c: _Canvas) -> None:
    sl, x, y = c.grid(_CX - 0.12, 0.5, _CX + 0.12, 0.8)
    hw = 0.078 + 0.01 * _smooth(0.66, 0.74, y)
    u = (x - _CX) / hw
    v_hw = (0.805 - y) * 1.05  # the open collar shows a V of chest
    mask = (1 - _smooth(0.97, 1.02, np.abs(u))) * _smooth(
        -0.002, 0.002, v_hw - np.abs(x - _CX)
    )
    nrm = _unit(u, np.full_like(u, 0.05), np.sqrt(np.clip(1 - u**2, 0.02, 1)))
    col = _lit(np.broadcast_to(_SKIN, nrm.shape), nrm, 0.42, 0.0, 1, _SKIN_SHADOW)
    # The jaw casts a shadow onto the neck.
    col *= (0.52 + 0.48 * _smooth(_CHIN_Y - 0.02, _CHIN_Y + 0.06, y))[..., None]
    c.blend(sl, mask, col)


def _ears(c: _Canvas) -> None:
    for side in (-1, 1):
        ecx = _CX + side * (_HEAD_A - 0.004)
        sl, x, y = c.grid(ecx - 0.04, 0.38, ecx + 0.04, 0.51)
        u, v = (x - ecx) / 0.021, (y - 0.442) / 0.046
        r = np.sqrt(u**2 + v**2)
        mask = 1 - _smooth(0.93, 1.03, r)
        nrm = _unit(u * 0.8, v * 0.6, np.sqrt(np.clip(1 - r**2, 0.05, 1)))
        col = _lit(np.broadcast_to(_SKIN, nrm.shape), nrm, 0.4, 0.0, 1, _SKIN_SHADOW)
        inner = _gauss(x, y, ecx + side * 0.004, 0.447, 0.008, 0.022)
        col *= (1 - 0.35 * inner)[..., None]
        c.blend(sl, mask, col)


def _face_shape(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Normalised radius of the face outline: < 1 inside; egg-shaped with a jaw."""
    dx, dy = x - _CX, y - _HEAD_CY
    t = np.clip(dy / _HEAD_BB, 0, None)
    aw = _HEAD_A * (1 - 0.12 * t**2)
    lower = (dx / aw) ** 2 + t**2.6
    upper = (dx / _HEAD_A) ** 2 + (dy / _HEAD_BT) ** 2
    return np.sqrt(np.where(dy > 0, lower, upper))


def _face_height(x: np.ndarray, y: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Relief of the face in normalised units (multiply by n for pixels)."""
    dx = x - _CX
    h = np.sqrt(np.clip(1 - r**2, 0, 1)) * _HEAD_A * 0.9
    for side in (-1, 1):
        ex = _CX + side * _EYE_DX
        h -= 0.011 * _gauss(x, y, ex, _EYE_Y, 0.034, 0.021)  # socket
        h += 0.005 * _gauss(x, y, ex, _EYE_Y, 0.024, 0.011)  # eyeball
        h += 0.006 * _gauss(
            x, y, ex + side * 0.005, _EYE_Y - 0.043, 0.042, 0.011
        )  # brow ridge
        h += 0.010 * _gauss(x, y, _CX + side * 0.088, 0.478, 0.038, 0.028)  # cheekbone
        h += 0.006 * _gauss(
            x, y, _CX + side * 0.021, _NOSE_Y - 0.008, 0.009, 0.007
        )  # ala
        h -= 0.003 * _gauss(
            x, y, _CX + side * 0.052, 0.535, 0.008, 0.02
        )  # nasolabial fold
    ridge = _smooth(_EYE_Y - 0.01, _NOSE_Y - 0.012, y) * (
        1 - _smooth(_NOSE_Y - 0.012, _NOSE_Y, y)
    )
    h += 0.016 * ridge * np.exp(-0.5 * (dx / (0.009 + 0.006 * ridge)) ** 2)  # bridge
    h += 0.02 * _gauss(x, y, _CX, _NOSE_Y - 0.013, 0.013, 0.011)  # tip
    h += 0.010 * _gauss(x, y, _CX, 0.552, 0.05, 0.035)  # muzzle
    h += 0.004 * _gauss(x, y, _CX, _MOUTH_Y - 0.007, 0.036, 0.005)  # upper lip
    h += 0.006 * _gauss(x, y, _CX, _MOUTH_Y + 0.008, 0.034, 0.006)  # lower lip
    h -= 0.004 * _gauss(
        x, y, _CX, _MOUTH_Y + 0.028, 0.026, 0.006
    )  # groove under the lip
    h += 0.010 * _gauss(x, y, _CX, _CHIN_Y - 0.03, 0.032, 0.018)  # chin
    return h


def _lip_curves(k: int = 41):
    """Top of the upper lip, the lip line, bottom of the lower lip (normalised)."""
    u = np.linspace(-1.0, 1.0, k)
    xs = _CX + u * _MOUTH_HW
    lift = -0.0038 * u**4  # corners turned up a touch: a friendly rest
    bow = (1 - u**2) ** 0.55 * (1 - 0.25 * np.exp(-((u / 0.15) ** 2)))
    top = _MOUTH_Y - _LIP_UP * bow + lift
    line = _MOUTH_Y + 0.0012 * np.exp(-((u / 0.3) ** 2)) + lift
    bottom = _MOUTH_Y + _LIP_LO * (1 - u**2) ** 0.6 + lift
    return (np.stack([xs, top], 1), np.stack([xs, line], 1), np.stack([xs, bottom], 1))


def _face(c: _Canvas) -> None:
    n = c.n
    sl, x, y = c.grid(_CX - 0.2, _HEAD_CY - _HEAD_BT - 0.01, _CX + 0.2, _CHIN_Y + 0.01)
    r = _face_shape(x, y)
    edge = 1.2 / (_HEAD_A * n)
    mask = 1 - _smooth(1 - edge, 1 + edge, r)
    height = _face_height(x, y, r) * n
    height = cv2.GaussianBlur(height, (0, 0), 1.5)
    nrm = _normals(height)
    # Albedo: skin, blush, lips.
    alb = _Canvas(n)
    alb.img[sl] = _SKIN
    for side in (-1, 1):
        blush = _gauss(x, y, _CX + side * 0.088, 0.5, 0.03, 0.022)
        alb.multiply(sl, blush, _rgb(255, 215, 215), 0.5)
    top, line, bottom = _lip_curves()
    m, s = alb.poly(np.concatenate([top, line[::-1]]), 0.0009)
    alb.blend(s, m, _LIP_UPPER)
    m, s = alb.poly(np.concatenate([line, bottom[::-1]]), 0.0009)
    alb.blend(s, m, _LIP_LOWER)
    alb.blend(
        sl,
        _gauss(x, y, _CX - 0.008, _MOUTH_Y + 0.008, 0.018, 0.0035),
        _rgb(236, 160, 156),
        0.4,
    )
    col = _lit(alb.img[sl], nrm, 0.36, 0.10, 28, _SKIN_SHADOW)
    c.blend(sl, mask, col)
    # Lip line and nostrils sit in shadow the relief alone cannot cast.
    u = np.linspace(-1, 1, len(line))
    w = 0.0014 + 0.0018 * (1 - u**2)
    band = np.concatenate(
        [line + np.stack([0 * u, w / 2], 1), (line - np.stack([0 * u, w / 2], 1))[::-1]]
    )
    m, s = c.poly(band, 0.0007)
    c.blend(s, m, _rgb(92, 38, 40), 0.9)
    for side in (-1, 1):
        nost = cv2.ellipse2Poly(
            (int(1000 * (_CX + side * 0.0125)), int(1000 * (_NOSE_Y - 0.003))),
            (6, 3),
            side * 22,
            0,
            360,
            10,
        )
        m, s = c.poly(nost / 1000.0, 0.0012)
        c.blend(s, m, _rgb(130, 70, 62), 0.55)
        crease = _curve(
            (_CX + side * 0.018, _NOSE_Y - 0.018),
            (_CX + side * 0.034, _NOSE_Y - 0.008),
            (_CX + side * 0.02, _NOSE_Y + 0.001),
            12,
        )
        m, s = c.poly(_stroke(crease, 0.0015, 0.0025), 0.0025)
        c.multiply(s, m, np.float32(0.88))


def _lid_curves(ex: float, outer: int, k: int = 33):
    """Upper and lower lid margins of one eye, image-left corner first."""
    u = np.linspace(-1.0, 1.0, k)
    tilt = 0.0022 * u * outer  # outer corner sits a little higher
    upper = _EYE_Y - _EYE_UP * (1 - u**2) ** 0.7 * (1 - 0.12 * u * outer) - tilt
    lower = _EYE_Y + _EYE_LO * (1 - u**2) ** 0.85 * (1 + 0.1 * u * outer) - tilt
    xs = ex + u * _EYE_HW
    return np.stack([xs, upper], 1), np.stack([xs, lower], 1)


def _eye(c: _Canvas, side: int) -> None:
    ex = _CX + side * _EYE_DX
    outer = side  # the outer corner lies away from the midline
    upper, lower = _lid_curves(ex, outer)
    # Crease and a soft lid shadow above the lash line.
    crease = upper.copy()
    crease[:, 1] -= 0.009 * (1 - np.linspace(-1, 1, len(upper)) ** 2) ** 0.5 + 0.002
    m, s = c.poly(_stroke(crease[3:-2], 0.0018, 0.0024), 0.0018)
    c.multiply(s, m, _rgb(190, 140, 130), 0.6)
    eye_mask, s = c.poly(np.concatenate([upper, lower[::-1]]), 0.0004)
    x, y = c.coords(s)
    u = np.clip((x - ex) / _EYE_HW, -1, 1)
    lid_y = np.interp(x[0], upper[:, 0], upper[:, 1])[None, :]
    sclera = _rgb(240, 236, 232) * (0.78 + 0.22 * (1 - u**2) ** 0.5)[..., None]
    icx, icy = ex, _EYE_Y + _IRIS_DY
    d = np.sqrt((x - icx) ** 2 + (y - icy) ** 2) / _IRIS_R
    ang = np.arctan2(y - icy, x - icx)
    iris = _rgb(150, 104, 62) * (1 - d[..., None]) + _rgb(92, 60, 36) * d[..., None]
    iris *= (1 + 0.10 * np.sin(ang * 37) * _smooth(0.35, 0.6, d))[..., None]
    iris *= (1 - 0.55 * _smooth(0.78, 1.0, d))[..., None]  # limbal ring
    pupil = 1 - _smooth(0.36, 0.42, d)
    iris = iris * (1 - pupil[..., None]) + _rgb(18, 14, 14) * pupil[..., None]
    disc = 1 - _smooth(0.97, 1.03, d)
    col = sclera * (1 - disc[..., None]) + iris * disc[..., None]
    # The upper lid shades the top of the eyeball.
    col *= (0.55 + 0.45 * _smooth(0.0, 0.006, y - lid_y))[..., None]
    for hx, hy, hr, a in ((-0.38, -0.38, 0.2, 0.95), (0.4, 0.32, 0.09, 0.6)):
        hl = 1 - _smooth(
            0.7,
            1.0,
            np.sqrt((x - icx - hx * _IRIS_R) ** 2 + (y - icy - hy * _IRIS_R) ** 2)
            / (hr * _IRIS_R),
        )
        col += (hl * a)[..., None] * (1 - col)
    c.blend(s, eye_mask, col)
    # Lash line, thicker and winged at the outer corner, and a soft lower lid.
    lash = upper if outer > 0 else upper[::-1]
    flick = lash[-1] + np.array(
        [
            [outer * 0.0025, -0.0006],
            [outer * 0.0048, -0.0017],
            [outer * 0.0068, -0.0032],
        ]
    )
    lash = np.concatenate([lash[:-1], flick])
    m, s = c.poly(_stroke(lash, 0.0022, 0.0052, taper=0.16), 0.0005)
    c.blend(s, m, _rgb(38, 26, 24), 0.95)
    m, s = c.poly(_stroke(lower[2:-2], 0.0012, 0.0012), 0.0008)
    c.blend(s, m, _rgb(150, 92, 84), 0.45)
    inner = upper[0] if outer > 0 else upper[-1]
    m, s = c.poly(
        np.array(
            [
                inner + [-outer * 0.001, 0.0],
                inner + [outer * 0.005, -0.0025],
                inner + [outer * 0.005, 0.003],
            ]
        ),
        0.001,
    )
    c.blend(s, m, _rgb(214, 140, 136), 0.7)


def _brow(c: _Canvas, side: int) -> None:
    ex = _CX + side * _EYE_DX
    inner = (ex - side * 0.030, _EYE_Y - 0.040)
    peak = (ex + side * 0.012, _EYE_Y - 0.062)
    outer = (ex + side * 0.047, _EYE_Y - 0.043)
    line = _curve(inner, peak, outer, 24)
    m, s = c.poly(_stroke(line, 0.012, 0.004), 0.0012)
    x, y = c.coords(s)
    texture = 0.85 + 0.15 * np.sin((x * side * 0.7 + y) * c.n * 1.1)
    c.blend(s, m * texture, _HAIR * 1.1, 0.93)


def _hair(c: _Canvas) -> None:
    # Outer silhouette over the skull, then the hairline with a side-swept fringe.
    t = np.linspace(np.pi * 0.97, np.pi * 2.03, 72)
    outer = np.stack(
        [_CX + 0.207 * np.cos(t) + 0.006 * np.sin(2 * t), 0.355 + 0.222 * np.sin(t)], 1
    )
    outer[:, 1] = np.minimum(outer[:, 1], 0.425)
    hairline = np.array(
        [
            [_CX + 0.19, 0.44],
            [_CX + 0.166, 0.405],
            [_CX + 0.156, 0.345],
            [_CX + 0.138, 0.298],
            [_CX + 0.10, 0.27],
            [_CX + 0.05, 0.262],
            [_CX - 0.01, 0.252],
            [_CX - 0.06, 0.244],
            [_CX - 0.10, 0.254],
            [_CX - 0.132, 0.285],
            [_CX - 0.155, 0.345],
            [_CX - 0.166, 0.405],
            [_CX - 0.19, 0.44],
        ]
    )
    mask, s = c.poly(np.concatenate([outer, hairline]), 0.0015)
    x, y = c.coords(s)
    u, v = (x - _CX) / 0.21, (y - 0.38) / 0.25
    nrm = _unit(u, v, np.sqrt(np.clip(1 - u**2 - v**2, 0.02, 1)))
    # Strands radiate from a side part: stripes along the polar angle around it.
    px, py = _CX - 0.07, 0.17
    ang = np.arctan2(y - py, x - px)
    rad = np.sqrt((y - py) ** 2 + (x - px) ** 2)
    # (faded near the part, where the stripes converge and would alias)
    strands = 0.5 + (
        0.3 * np.sin(ang * 230 + 3 * np.sin(rad * 25)) + 0.2 * np.sin(ang * 97 + 1.3)
    ) * _smooth(0.0, 0.04, rad)
    strands = cv2.GaussianBlur(strands.astype(np.float32), (0, 0), 0.8)
    alb = _HAIR * (0.78 + 0.4 * strands)[..., None]
    col = _lit(alb, nrm, 0.4, 0.0, 1)
    sheen = _gauss(u, v, -0.25, -0.6, 0.45, 0.12) * (0.6 + 0.4 * strands)
    col += (sheen * 0.22)[..., None] * _rgb(190, 150, 120)
    # Soft shadow the fringe casts onto the forehead (the hair then covers its top half).
    m, sh = c.poly(_stroke(hairline[2:-2] + [0.0, 0.003], 0.01, 0.01), 0.004)
    c.multiply(sh, m, _rgb(190, 150, 140), 0.6)
    c.blend(s, mask, col)
    part = _curve(
        (px + 0.002, py + 0.004), (px + 0.006, 0.215), (px + 0.012, 0.243), 12
    )
    m, s = c.poly(_stroke(part, 0.0025, 0.001), 0.0012)
    c.blend(s, m, _rgb(150, 110, 92), 0.55)
