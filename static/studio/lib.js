/* PaksaTalker Studio helpers for app.js: API calls, DOM building, history storage,
   and the renderers that need no app state (capabilities, expression, result). */
(function () {
  "use strict";

  const API = "/api/v1";
  const HISTORY_KEY = "paksatalker.history.v1";
  const HISTORY_MAX = 20;
  const KEY_STORAGE = "paksatalker.apiKey";
  const $ = (id) => document.getElementById(id);

  // When the server requires API keys, the key lives in this tab's session storage
  // and goes out as X-API-Key. Media elements cannot send headers, so keyed media
  // is fetched and handed to them as blob: URLs (see mediaUrl).
  const apiKey = {
    get: () => sessionStorage.getItem(KEY_STORAGE) || "",
    set: (value) => (value ? sessionStorage.setItem(KEY_STORAGE, value) : sessionStorage.removeItem(KEY_STORAGE)),
  };

  function headers(extra) {
    const h = Object.assign({ Accept: "application/json" }, extra || {});
    if (apiKey.get()) h["X-API-Key"] = apiKey.get();
    return h;
  }

  // fetch + the API's error contract: every failure becomes an Error carrying the server's detail.
  async function api(path, options) {
    let response;
    try {
      response = await fetch(API + path, Object.assign({}, options || {}, { headers: headers((options || {}).headers) }));
    } catch (err) {
      throw new Error("The server could not be reached. Is it running?");
    }
    let body = null;
    try { body = await response.json(); } catch (err) { body = null; }
    if (!response.ok || !body || body.success === false) {
      const detail = body && body.detail ? body.detail : "The server answered " + response.status + " " + response.statusText + ".";
      const error = new Error(detail);
      error.status = response.status;
      throw error;
    }
    return body;
  }

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([key, value]) => {
      if (key === "text") node.textContent = value;
      else if (key === "class") node.className = value;
      else node.setAttribute(key, value);
    });
    (children || []).forEach((child) => node.append(child));
    return node;
  }

  function seconds(value) {
    const s = Math.max(0, Math.round(value));
    return s < 60 ? s + " s" : Math.floor(s / 60) + " min " + String(s % 60).padStart(2, "0") + " s";
  }

  function historyLoad() {
    try { return JSON.parse(localStorage.getItem(HISTORY_KEY)) || []; } catch (err) { return []; }
  }

  function historyStore(items) {
    try { localStorage.setItem(HISTORY_KEY, JSON.stringify(items.slice(0, HISTORY_MAX))); } catch (err) { /* storage full or off */ }
  }

  // The expression preview: the top emotion and the strongest blendshapes.
  function renderExpression(body) {
    const box = document.getElementById("expression");
    box.className = "expression";
    box.textContent = "";
    const probs = Object.entries(body.result.emotion_probs || {}).sort((a, b) => b[1] - a[1]);
    const shapes = Object.entries(body.result.blendshapes || {}).sort((a, b) => b[1] - a[1]).slice(0, 5);
    if (probs.length) {
      box.append(el("p", { class: "emotion" }, [
        el("span", { text: "Expression: " }),
        el("strong", { text: probs[0][0] }),
        el("span", { class: "muted", text: " " + Math.round(probs[0][1] * 100) + "% · " + body.engine }),
      ]));
    }
    const list = el("ul", { class: "bars", "aria-label": "Main blendshapes" });
    shapes.forEach(([name, value]) => {
      const pct = Math.round(value * 100);
      list.append(el("li", {}, [
        el("span", { class: "bar-name", text: name }),
        el("span", { class: "bar", "aria-hidden": "true" }, [el("span", { class: "bar-fill", style: "width:" + pct + "%" })]),
        el("span", { class: "bar-value", text: value.toFixed(2) }),
      ]));
    });
    box.append(list);
  }

  // Disable a control (or an <option>) the server cannot run, saying why.
  function unavailable(control, reason, hintId) {
    control.disabled = true;
    control.title = reason;
    if (control.tagName === "OPTION") control.textContent += " (unavailable)";
    if (hintId) {
      const hint = $(hintId);
      const line = el("span", { text: (control.tagName === "OPTION" ? control.textContent.replace(" (unavailable)", "") + ": " : "Unavailable: ") + reason });
      if (hint.childNodes.length) hint.append(el("br"));
      hint.append(line);
      hint.hidden = false;
    }
  }

  function applyCapabilities(caps) {
    const reasons = caps.reasons || {};
    const modes = (caps.background && (caps.background.modes || caps.background)) || {};
    Array.from($("backgroundMode").options).forEach((option) => {
      const info = modes[option.value];
      if (option.value !== "none" && info && info.available === false) {
        unavailable(option, info.reason || "not available on this server", "background-hint");
      }
    });
    const filters = (caps.ffmpeg && caps.ffmpeg.filters) || {};
    if (!filters.subtitles) {
      unavailable($("captions").querySelector('option[value="burn"]'), "this server's ffmpeg has no subtitles filter", "captions-hint");
    }
    const models = caps.models || {};
    if (!models.wav2lip2) {
      const box = $("preferWav2Lip2");
      unavailable(box, reasons.wav2lip || "the Wav2Lip model is not installed", "wav2lip-hint");
      $("wav2lip-label").title = box.title;
      $("wav2lip-label").classList.add("disabled");
    }
    Array.from($("expressionEngine").options).forEach((option) => {
      if (["auto", "none"].includes(option.value)) return;
      if (models[option.value] === false) {
        unavailable(option, reasons[option.value] || "not installed", "expression-engine-hint");
      }
    });
  }

  // A URL a media element or link can use: the plain URL without keys, else a blob: URL.
  const blobUrls = [];
  async function mediaUrl(url) {
    if (!apiKey.get()) return url;
    const response = await fetch(url, { headers: headers({ Accept: "*/*" }) });
    if (!response.ok) throw new Error("Could not fetch " + url + " (" + response.status + ").");
    const blobUrl = URL.createObjectURL(await response.blob());
    blobUrls.push(blobUrl);
    return blobUrl;
  }

  async function showResult(data) {
    blobUrls.splice(0).forEach((u) => URL.revokeObjectURL(u));
    const video = $("video");
    const captions = data.captions || {};
    const [videoUrl, vttUrl, srtUrl] = await Promise.all([
      mediaUrl(data.video_url),
      captions.vtt_url ? mediaUrl(captions.vtt_url) : null,
      captions.srt_url ? mediaUrl(captions.srt_url) : null,
    ]);
    video.src = videoUrl;
    const downloads = $("downloads");
    downloads.textContent = "";
    downloads.append(el("a", { class: "button", href: videoUrl, download: data.task_id + ".mp4", text: "Download MP4" }));
    if (vttUrl) downloads.append(el("a", { class: "button ghost", href: vttUrl, download: data.task_id + ".vtt", text: "Captions (VTT)" }));
    if (srtUrl) downloads.append(el("a", { class: "button ghost", href: srtUrl, download: data.task_id + ".srt", text: "Captions (SRT)" }));
    while (video.firstChild) video.firstChild.remove();
    const lipSync = data.lip_sync || {};
    if (vttUrl) video.append(el("track", { kind: "captions", src: vttUrl, srclang: lipSync.language || "en", label: "Captions" }));
    const facts = $("result-facts");
    facts.textContent = "";
    const add = (term, value) => { if (value) facts.append(el("dt", { text: term }), el("dd", { text: value })); };
    add("Engine", data.engine);
    add("Length", data.duration ? data.duration.toFixed(1) + " s" : "");
    add("Voice", data.tts_provider);
    add("Lip sync", lipSync.method ? lipSync.method + (lipSync.language ? " · " + lipSync.language : "") : "");
    add("Task", data.task_id);
    const fallbacks = $("fallbacks");
    fallbacks.textContent = "";
    const reasons = data.fallback_reasons || [];
    fallbacks.hidden = reasons.length === 0;
    if (reasons.length) {
      fallbacks.append(el("p", { text: "Engines skipped before " + data.engine + ":" }));
      const list = el("ul");
      reasons.forEach((r) => list.append(el("li", {}, [el("strong", { text: r.engine }), el("span", { text: ": " + r.reason })])));
      fallbacks.append(list);
    }
    $("result").hidden = false;
  }

  window.PaksaStudio = { API, api, apiKey, el, seconds, historyLoad, historyStore, renderExpression, applyCapabilities, showResult };
})();
