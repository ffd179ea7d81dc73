/* PaksaTalker Studio: photo + speech -> talking video, with live progress.
   Plain JS, no build step. Talks only to /api/v1 (see docs/API.md). */
(function () {
  "use strict";

  const { API, api, apiKey, el, seconds, historyLoad, historyStore, renderExpression, applyCapabilities, showResult } = window.PaksaStudio;
  const ENDED = ["completed", "failed", "cancelled"];
  const $ = (id) => document.getElementById(id);
  let DROP_TEXT = "";

  const state = {
    voices: [],
    capabilities: null,
    job: null, // {id, source: EventSource|null, poll: timer|null, startedAt: ms, ended: bool}
    clock: null,
    thumbnail: "",
  };

  // ---------- helpers ----------

  function showAlert(message) {
    const box = $("alert");
    box.textContent = "";
    box.append(el("strong", { text: "Something went wrong. " }), el("span", { class: "alert-detail", text: message }));
    box.hidden = false;
    revealOnNarrow(box);
  }

  // On one-column layouts the job panel sits below the form: bring it into view.
  function revealOnNarrow(node) {
    if (window.matchMedia("(max-width: 880px)").matches) node.scrollIntoView({ behavior: "smooth", block: "center" });
  }

  function clearAlert() {
    $("alert").hidden = true;
    $("alert").textContent = "";
  }

  // ---------- capabilities, voices ----------

  function fillLanguages(languages) {
    const select = $("language");
    const audioLanguage = $("audio-language");
    languages.forEach((lang) => {
      // No flag emoji: many systems render them as letter pairs or boxes.
      select.append(el("option", { value: lang.code, text: lang.name, title: lang.voice_count + (lang.voice_count === 1 ? " voice" : " voices") }));
      const sync = lang.lip_sync === "phoneme" ? "phoneme-accurate lip sync" : "approximate lip sync";
      audioLanguage.append(el("option", { value: lang.code, text: lang.name, title: sync }));
    });
    const preferred = [navigator.language, "en-US"].find((code) => languages.some((l) => l.code === code));
    if (preferred) select.value = preferred;
    fillVoices();
  }

  function fillVoices() {
    const select = $("voice");
    const code = $("language").value;
    select.textContent = "";
    state.voices.filter((v) => v.language_code === code).forEach((voice) => {
      select.append(el("option", { value: voice.voice_id, text: voice.name + " · " + voice.gender }));
    });
    const jenny = Array.from(select.options).find((o) => o.value === "en-US-JennyNeural");
    if (jenny) select.value = jenny.value;
  }

  // ---------- photo, expression preview ----------

  function setPhoto(file) {
    const preview = $("image-preview");
    if (!file) {
      preview.hidden = true;
      preview.removeAttribute("src");
      $("drop-text").innerHTML = DROP_TEXT;
      $("drop-text").hidden = false;
      $("expression").hidden = true;
      state.thumbnail = "";
      return;
    }
    $("use-default-avatar").checked = false;
    $("dropzone").classList.remove("disabled");
    const url = URL.createObjectURL(file);
    $("drop-text").textContent = "";
    preview.onload = () => { state.thumbnail = makeThumbnail(preview); };
    preview.onerror = () => {
      // Not displayable here; the server still decides, and says why if it refuses.
      preview.hidden = true;
      state.thumbnail = "";
      const text = $("drop-text");
      text.textContent = "";
      text.append(el("strong", { text: file.name }), el("span", { text: "This browser cannot preview the file. " }), el("span", { class: "link", text: "Choose another photo" }));
      text.hidden = false;
    };
    preview.src = url;
    preview.hidden = false;
    $("drop-text").hidden = true;
    estimateExpression(file);
  }

  function makeThumbnail(img) {
    try {
      const canvas = document.createElement("canvas");
      const scale = 64 / Math.max(img.naturalWidth, img.naturalHeight);
      canvas.width = Math.max(1, Math.round(img.naturalWidth * scale));
      canvas.height = Math.max(1, Math.round(img.naturalHeight * scale));
      canvas.getContext("2d").drawImage(img, 0, 0, canvas.width, canvas.height);
      return canvas.toDataURL("image/jpeg", 0.7);
    } catch (err) {
      return "";
    }
  }

  async function estimateExpression(file) {
    const box = $("expression");
    box.hidden = false;
    box.className = "expression busy";
    box.textContent = "Reading the expression…";
    const form = new FormData();
    form.append("image", file);
    try {
      const body = await api("/expressions/estimate", { method: "POST", body: form });
      renderExpression(body);
    } catch (err) {
      box.className = "expression warn";
      box.textContent = err.message;
    }
  }

  // ---------- submit ----------

  function buildForm() {
    const form = new FormData();
    const useText = $("source-text").checked;
    const image = $("image").files[0];
    if (image && !$("use-default-avatar").checked) form.append("image", image);
    if (useText) {
      form.append("text", $("text").value.trim());
      if ($("voice").value) form.append("voice", $("voice").value);
    } else {
      const audio = $("audio").files[0];
      if (audio) form.append("audio", audio);
      if ($("transcript").value.trim()) form.append("transcript", $("transcript").value.trim());
      if ($("audio-language").value) form.append("language", $("audio-language").value);
    }
    ["resolution", "fps", "emotion", "style", "preprocess", "expressionEngine", "captions", "backgroundMode"].forEach((name) => {
      const value = $(name).value;
      if (value !== "") form.append(name, value);
    });
    form.append("preferWav2Lip2", $("preferWav2Lip2").checked ? "true" : "false");
    const mode = $("backgroundMode").value;
    if (mode === "color") form.append("backgroundColor", $("backgroundColor").value);
    if (mode === "image" && $("backgroundImage").files[0]) form.append("backgroundImage", $("backgroundImage").files[0]);
    if (mode === "chroma") {
      form.append("chromaColor", $("chromaColor").value);
      form.append("similarity", $("similarity").value);
      form.append("blend", $("blend").value);
    }
    return form;
  }

  function clientCheck() {
    const useText = $("source-text").checked;
    if (useText && !$("text").value.trim()) return "Type the text to speak, or switch to “Upload audio”.";
    if (!useText && !$("audio").files[0]) return "Choose an audio file, or switch to “Type text”.";
    if (!$("image").files[0] && !$("use-default-avatar").checked) return "Choose a photo, or tick “Use the default avatar”.";
    if ($("use-default-avatar").checked && !useText) return "The default avatar needs text to speak.";
    return "";
  }

  async function submit(event) {
    event.preventDefault();
    clearAlert();
    const problem = clientCheck();
    if (problem) { showAlert(problem); return; }
    const button = $("generate");
    button.disabled = true;
    button.textContent = "Uploading…";
    try {
      const body = await api("/generate/fusion-video", { method: "POST", body: buildForm() });
      const label = $("source-text").checked ? $("text").value.trim() : ($("audio").files[0] || {}).name || "audio";
      historyAdd({ id: body.task_id, label: label.slice(0, 80), created: Date.now(), thumb: $("use-default-avatar").checked ? "" : state.thumbnail });
      track(body.task_id);
      revealOnNarrow($("job-title"));
    } catch (err) {
      showAlert(err.message);
      $("job-empty").hidden = !!state.job;
    } finally {
      button.disabled = false;
      button.textContent = "Generate video";
    }
  }

  // ---------- tracking a job ----------

  function stopTracking() {
    const job = state.job;
    if (!job) return;
    if (job.source) job.source.close();
    if (job.poll) clearTimeout(job.poll);
    if (state.clock) clearInterval(state.clock);
    job.ended = true;
  }

  function track(taskId, initial) {
    stopTracking();
    const job = { id: taskId, source: null, poll: null, startedAt: Date.now(), ended: false, progress: 0 };
    state.job = job;
    $("job-empty").hidden = true;
    $("result").hidden = true;
    $("video").removeAttribute("src");
    $("progress-block").hidden = false;
    $("cancel").disabled = false;
    $("cancel").hidden = false;
    showProgress(initial || { status: "processing", progress: 0, stage: "Queued", eta_seconds: null });
    state.clock = setInterval(() => tick(job), 500);
    // EventSource cannot send an API key header: with keys, poll instead.
    if (typeof EventSource === "undefined" || apiKey.get()) { poll(job); return; }
    const source = new EventSource(API + "/status/" + encodeURIComponent(taskId) + "/events");
    job.source = source;
    source.onmessage = (message) => {
      if (job !== state.job || job.ended) return;
      let data;
      try { data = JSON.parse(message.data); } catch (err) { return; }
      onUpdate(job, data);
    };
    source.onerror = () => {
      // The stream broke (proxy, restart, or the server ended it): fall back to polling.
      source.close();
      job.source = null;
      if (job === state.job && !job.ended) poll(job);
    };
  }

  async function poll(job) {
    if (job !== state.job || job.ended) return;
    try {
      const body = await api("/status/" + encodeURIComponent(job.id));
      onUpdate(job, body.data);
    } catch (err) {
      if (err.status === 404) { finish(job); showAlert(err.message); return; }
    }
    if (!job.ended && job === state.job) job.poll = setTimeout(() => poll(job), 1000);
  }

  function onUpdate(job, data) {
    if (data.started_at || data.created_at) {
      const started = Date.parse(data.created_at || data.started_at);
      if (!Number.isNaN(started) && started <= Date.now()) job.startedAt = Math.min(job.startedAt, started);
    }
    showProgress(data);
    if (ENDED.includes(data.status)) {
      finish(job);
      loadResult(job.id);
    }
  }

  function finish(job) {
    if (job.source) job.source.close();
    if (job.poll) clearTimeout(job.poll);
    if (state.clock) clearInterval(state.clock);
    job.ended = true;
    $("cancel").hidden = true;
  }

  function tick(job) {
    if (job !== state.job || job.ended) return;
    $("elapsed").textContent = "Elapsed " + seconds((Date.now() - job.startedAt) / 1000);
  }

  function showProgress(data) {
    const job = state.job;
    const value = Math.max(job ? job.progress : 0, Math.round(data.progress || 0));
    if (job) job.progress = value;
    const bar = $("progress");
    bar.value = value;
    bar.setAttribute("aria-valuenow", String(value));
    bar.setAttribute("aria-valuetext", value + "% · " + (data.stage || ""));
    $("percent").textContent = value + "%";
    let stage = data.stage || data.status;
    if (data.queue_position) stage += " · position " + data.queue_position + " in the queue";
    $("stage").textContent = stage;
    $("eta").textContent = data.status === "processing" && data.eta_seconds != null ? "About " + seconds(data.eta_seconds) + " left" : "";
    if (job) tick(job);
    historyUpdate(data.task_id || (job && job.id), { status: data.status });
  }

  async function loadResult(taskId) {
    let data;
    try {
      data = (await api("/status/" + encodeURIComponent(taskId))).data;
    } catch (err) {
      showAlert(err.message);
      return;
    }
    if (state.job && state.job.id !== taskId) return;
    historyUpdate(taskId, { status: data.status });
    showProgress(data);
    if (data.finished_at && data.created_at) {
      $("elapsed").textContent = "Took " + seconds((Date.parse(data.finished_at) - Date.parse(data.created_at)) / 1000);
    }
    $("eta").textContent = "";
    $("cancel").hidden = true;
    if (data.status === "failed") showAlert(data.error || "The render failed.");
    if (data.status === "cancelled") { clearAlert(); $("stage").textContent = "Cancelled"; }
    if (data.status !== "completed") { $("result").hidden = true; return; }
    clearAlert();
    $("progress-block").hidden = false;
    try { await showResult(data); } catch (err) { showAlert(err.message); }
  }

  async function cancel() {
    const job = state.job;
    if (!job || job.ended) return;
    $("cancel").disabled = true;
    try {
      const body = await api("/status/" + encodeURIComponent(job.id) + "/cancel", { method: "POST" });
      onUpdate(job, body.data);
    } catch (err) {
      showAlert(err.message);
    }
  }

  // ---------- history ----------

  function historySave(items) {
    historyStore(items);
    renderHistory();
  }

  function historyAdd(item) {
    historySave([Object.assign({ status: "processing" }, item)].concat(historyLoad().filter((h) => h.id !== item.id)));
  }

  function historyUpdate(id, changes) {
    if (!id) return;
    const items = historyLoad();
    const item = items.find((h) => h.id === id);
    if (!item || Object.keys(changes).every((k) => item[k] === changes[k])) return;
    Object.assign(item, changes);
    historySave(items);
  }

  function renderHistory() {
    const items = historyLoad();
    const list = $("history");
    list.textContent = "";
    $("history-empty").hidden = items.length > 0;
    $("history-clear").hidden = items.length === 0;
    items.forEach((item) => {
      const when = new Date(item.created).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
      const thumb = item.thumb ? el("img", { src: item.thumb, alt: "", class: "thumb" }) : el("span", { class: "thumb placeholder", "aria-hidden": "true", text: "A" });
      const button = el("button", { type: "button", class: "history-item", "aria-label": "Open video: " + item.label + ", " + when + ", " + item.status }, [
        thumb,
        el("span", { class: "history-text" }, [el("span", { class: "history-label", text: item.label }), el("span", { class: "history-when", text: when })]),
        el("span", { class: "badge " + item.status, text: item.status }),
      ]);
      if (state.job && state.job.id === item.id) button.setAttribute("aria-current", "true");
      button.addEventListener("click", () => reopen(item.id));
      list.append(el("li", {}, [button]));
    });
  }

  async function reopen(id) {
    clearAlert();
    try {
      const data = (await api("/status/" + encodeURIComponent(id))).data;
      if (data.status === "processing") { track(id, data); return; }
      stopTracking();
      state.job = { id: id, ended: true, progress: 0, startedAt: Date.parse(data.created_at) || Date.now() };
      $("job-empty").hidden = true;
      $("progress-block").hidden = false;
      loadResult(id);
      renderHistory();
    } catch (err) {
      if (err.status === 404) historyUpdate(id, { status: "deleted" });
      showAlert(err.message);
    }
  }

  // ---------- wiring ----------

  function syncSpeechSource() {
    const text = $("source-text").checked;
    $("text-panel").hidden = !text;
    $("audio-panel").hidden = text;
  }

  function syncBackground() {
    const mode = $("backgroundMode").value;
    $("bg-color-field").hidden = mode !== "color";
    $("bg-image-field").hidden = mode !== "image";
    $("chroma-fields").hidden = mode !== "chroma";
  }

  function wireDropzone() {
    const zone = $("dropzone");
    ["dragenter", "dragover"].forEach((type) => zone.addEventListener(type, (e) => { e.preventDefault(); zone.classList.add("over"); }));
    ["dragleave", "drop"].forEach((type) => zone.addEventListener(type, () => zone.classList.remove("over")));
    zone.addEventListener("drop", (e) => {
      e.preventDefault();
      const file = e.dataTransfer && e.dataTransfer.files[0];
      if (!file) return;
      const transfer = new DataTransfer();
      transfer.items.add(file);
      $("image").files = transfer.files;
      setPhoto(file);
    });
    $("image").addEventListener("change", () => setPhoto($("image").files[0]));
    $("use-default-avatar").addEventListener("change", () => {
      const on = $("use-default-avatar").checked;
      zone.classList.toggle("disabled", on);
      if (on) { $("image").value = ""; setPhoto(null); $("source-text").checked = true; syncSpeechSource(); }
    });
  }

  async function init() {
    DROP_TEXT = $("drop-text").innerHTML;
    wireDropzone();
    $("studio-form").addEventListener("submit", submit);
    document.querySelectorAll('input[name="speech-source"]').forEach((r) => r.addEventListener("change", syncSpeechSource));
    $("language").addEventListener("change", fillVoices);
    $("backgroundMode").addEventListener("change", syncBackground);
    ["similarity", "blend"].forEach((id) => $(id).addEventListener("input", () => { $(id + "-out").textContent = Number($(id).value).toFixed(2); }));
    $("cancel").addEventListener("click", cancel);
    $("history-clear").addEventListener("click", () => historySave([]));
    syncSpeechSource();
    syncBackground();
    renderHistory();
    $("api-key").value = apiKey.get();
    $("api-key").addEventListener("change", () => { apiKey.set($("api-key").value.trim()); init.reload(); });
    let caps;
    try { caps = await api("/capabilities"); } catch (err) { showAlert("Could not read what this server can do: " + err.message); }
    if (caps) {
      state.capabilities = caps.data;
      applyCapabilities(caps.data);
      $("api-key-field").hidden = !(caps.data.auth && caps.data.auth.api_key_required);
    }
    await loadLists();
    document.body.dataset.ready = "true";
  }

  async function loadLists() {
    const [voices, languages] = await Promise.allSettled([api("/voices"), api("/languages")]);
    if (voices.status === "fulfilled") state.voices = voices.value.voices;
    if (languages.status === "fulfilled") { clearAlert(); fillLanguages(languages.value.languages); }
    else showAlert("Could not load the voices: " + languages.reason.message);
  }
  init.reload = loadLists;

  document.addEventListener("DOMContentLoaded", init);
})();
