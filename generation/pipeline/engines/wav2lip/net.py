"""The Wav2Lip generator as a torch module, built from the published checkpoint layout.

Its ``state_dict`` (with ``module.`` prepended) has exactly the keys and shapes
of the official ``wav2lip.pth`` / ``wav2lip_gan.pth`` (352 entries,
36,320,837 values; see shared/facts/wav2lip_checkpoint_layout.json), so those
files load with ``strict=True``.

Shapes: face ``B x 6 x 96 x 96`` and mel ``B x 1 x 80 x 16`` in, ``B x 3 x 96 x 96``
(sigmoid) out. Strides and paddings are chosen so the encoders reach 1x1:
face 96 -> 48 -> 24 -> 12 -> 6 -> 3 -> 1, mel 80x16 -> 27x16 -> 9x6 -> 3x3 -> 1x1;
the decoder's transposed convolutions climb back 1 -> 3 -> 6 -> ... -> 96,
concatenating the face encoder's feature map of the same size (U-Net skips).
Blocks whose input and output channels agree and keep the spatial size are
residual (the identity is added before the ReLU).
"""

from __future__ import annotations

import torch
from torch import nn

MEL_BINS = 80
MEL_STEPS = 16


class ConvBlock(nn.Module):
    """Conv (or transposed conv) + BatchNorm + ReLU, optionally residual.

    The parameters live under ``conv_block.0`` (conv) and ``conv_block.1``
    (batch norm), which is what the checkpoint keys expect.
    """

    def __init__(self, cin: int, cout: int, kernel: int, stride=1, padding=0, *, residual: bool = False,
                 transpose: bool = False, output_padding: int = 0):
        super().__init__()
        if transpose:
            conv = nn.ConvTranspose2d(cin, cout, kernel, stride, padding, output_padding=output_padding)
        else:
            conv = nn.Conv2d(cin, cout, kernel, stride, padding)
        self.conv_block = nn.Sequential(conv, nn.BatchNorm2d(cout))
        self.residual = residual
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv_block(x)
        if self.residual:
            out = out + x
        return self.act(out)


def _down(cin: int, cout: int, stride, n_res: int, kernel: int = 3, padding: int = 1) -> nn.Sequential:
    """One strided conv then ``n_res`` residual 3x3 convs at the new size."""
    layers = [ConvBlock(cin, cout, kernel, stride, padding)]
    layers += [ConvBlock(cout, cout, 3, 1, 1, residual=True) for _ in range(n_res)]
    return nn.Sequential(*layers)


def _up(cin: int, cout: int, n_res: int, *, stride: int = 2, padding: int = 1, output_padding: int = 1) -> nn.Sequential:
    """One transposed conv (doubling the size by default) then ``n_res`` residual convs."""
    layers = [ConvBlock(cin, cout, 3, stride, padding, transpose=True, output_padding=output_padding)]
    layers += [ConvBlock(cout, cout, 3, 1, 1, residual=True) for _ in range(n_res)]
    return nn.Sequential(*layers)


class Wav2LipGenerator(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.face_encoder_blocks = nn.ModuleList([
            nn.Sequential(ConvBlock(6, 16, 7, 1, 3)),  # 96
            _down(16, 32, 2, 2),  # 48
            _down(32, 64, 2, 3),  # 24
            _down(64, 128, 2, 2),  # 12
            _down(128, 256, 2, 2),  # 6
            _down(256, 512, 2, 1),  # 3
            nn.Sequential(ConvBlock(512, 512, 3, 1, 0), ConvBlock(512, 512, 1, 1, 0)),  # 1
        ])
        self.audio_encoder = nn.Sequential(
            ConvBlock(1, 32, 3, 1, 1),  # 80x16
            ConvBlock(32, 32, 3, 1, 1, residual=True),
            ConvBlock(32, 32, 3, 1, 1, residual=True),
            ConvBlock(32, 64, 3, (3, 1), 1),  # 27x16
            ConvBlock(64, 64, 3, 1, 1, residual=True),
            ConvBlock(64, 64, 3, 1, 1, residual=True),
            ConvBlock(64, 128, 3, 3, 1),  # 9x6
            ConvBlock(128, 128, 3, 1, 1, residual=True),
            ConvBlock(128, 128, 3, 1, 1, residual=True),
            ConvBlock(128, 256, 3, (3, 2), 1),  # 3x3
            ConvBlock(256, 256, 3, 1, 1, residual=True),
            ConvBlock(256, 512, 3, 1, 0),  # 1x1
            ConvBlock(512, 512, 1, 1, 0),
        )
        self.face_decoder_blocks = nn.ModuleList([
            nn.Sequential(ConvBlock(512, 512, 1, 1, 0)),  # 1
            _up(1024, 512, 1, stride=1, padding=0, output_padding=0),  # 1 -> 3
            _up(1024, 512, 2),  # 6
            _up(768, 384, 2),  # 12
            _up(512, 256, 2),  # 24
            _up(320, 128, 2),  # 48
            _up(160, 64, 2),  # 96
        ])
        self.output_block = nn.Sequential(ConvBlock(80, 32, 3, 1, 1), nn.Conv2d(32, 3, 1, 1, 0), nn.Sigmoid())

    def forward(self, audio: torch.Tensor, face: torch.Tensor) -> torch.Tensor:
        """``audio`` B x 1 x 80 x 16, ``face`` B x 6 x 96 x 96 -> B x 3 x 96 x 96."""
        x = self.audio_encoder(audio)  # B x 512 x 1 x 1
        skips = []
        feat = face
        for block in self.face_encoder_blocks:
            feat = block(feat)
            skips.append(feat)
        for block in self.face_decoder_blocks:
            x = block(x)
            x = torch.cat((x, skips.pop()), dim=1)
        return self.output_block(x)


def checkpoint_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """The model's state with the ``module.`` prefix the official files carry."""
    return {"module." + k: v for k, v in model.state_dict().items()}


def strip_module_prefix(state: dict) -> dict:
    return {(k[len("module."):] if k.startswith("module.") else k): v for k, v in state.items()}
