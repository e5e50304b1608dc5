// "Phát trực tiếp": the microphone, encoded to Opus in 20 ms frames by the browser (WebCodecs), sent to the
// worker's live endpoint with the one-time ticket of the session the page started; a level meter, the time
// on air and which clusters play it now.
(function () {
  "use strict";
  const t = window.loaxaText;
  const form = document.getElementById("live-form");
  if (!form) return;
  const script = document.currentScript;
  const RATE = 48000, FRAME = 960, FRAME_US = 20000;
  const startButton = document.getElementById("live-start");
  const stopButton = document.getElementById("live-stop");
  const panel = document.getElementById("live-panel");
  const stateLine = document.getElementById("live-state");
  const meter = document.getElementById("live-level");
  const elapsed = document.getElementById("live-elapsed");
  const playing = document.getElementById("live-playing");
  const clusters = document.getElementById("live-clusters");
  const errorBox = document.getElementById("live-error");
  let socket = null, stream = null, context = null, encoder = null, broadcastId = null;
  let clock = null, poll = null, startedAt = 0, number = 0;

  function say(text, isError) {
    if (isError) {
      errorBox.textContent = text;
      errorBox.hidden = false;
    } else {
      stateLine.textContent = text;
    }
  }

  function address(template, id) {
    return template.replace("/0/", "/" + id + "/");
  }

  function release() {
    clearInterval(clock);
    clearInterval(poll);
    if (encoder && encoder.state !== "closed") encoder.close();
    encoder = null;
    if (context) context.close();
    context = null;
    if (stream) stream.getTracks().forEach(track => track.stop());
    stream = null;
    startButton.disabled = false;
    stopButton.hidden = true;
    form.hidden = false;
  }

  async function showStatus() {
    if (broadcastId === null) return;
    try {
      const response = await fetch(address(form.dataset.status, broadcastId), { credentials: "same-origin" });
      if (!response.ok) return;
      const live = await response.json();
      playing.textContent = t("live_playing", { n: live.playing, total: live.devices.length });
      clusters.replaceChildren(...live.devices.map(device => {
        const item = document.createElement("li");
        const state = document.createElement("span");
        state.className = "state " + device.state;
        state.textContent = t("state_" + device.state);
        item.append(device.name + " ", state);
        return item;
      }));
    } catch (error) { /* the next second tries again */ }
  }

  function take(message) {
    meter.value = Math.max(message.peak, meter.value * 0.8);
    if (!encoder || encoder.state !== "configured") return;
    const data = new AudioData({ format: "f32-planar", sampleRate: RATE, numberOfFrames: FRAME,
                                 numberOfChannels: 1, timestamp: number * FRAME_US, data: message.samples });
    encoder.encode(data);
    data.close();
    number += 1;
  }

  function send(chunk) {
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    const message = new ArrayBuffer(8 + chunk.byteLength);
    new DataView(message).setBigUint64(0, BigInt(Math.round(chunk.timestamp)));
    chunk.copyTo(new Uint8Array(message, 8));
    socket.send(message);
  }

  async function speak() {
    context = new AudioContext({ sampleRate: RATE });
    await context.audioWorklet.addModule(script.dataset.worklet);
    const source = context.createMediaStreamSource(stream);
    const capture = new AudioWorkletNode(context, "loaxa-capture");
    const mute = context.createGain();
    mute.gain.value = 0;  // the page itself plays nothing back: no echo into the microphone
    source.connect(capture).connect(mute).connect(context.destination);
    encoder = new AudioEncoder({ output: send, error: error => say(t("live_failed") + " " + error.message, true) });
    const wanted = { codec: "opus", sampleRate: RATE, numberOfChannels: 1, bitrate: 24000,
                     opus: { frameDuration: FRAME_US, application: "voip" } };
    const support = await AudioEncoder.isConfigSupported(wanted).catch(() => ({ supported: false }));
    encoder.configure(support.supported ? wanted : { codec: "opus", sampleRate: RATE, numberOfChannels: 1,
                                                     bitrate: 24000 });
    capture.port.onmessage = event => take(event.data);
    startedAt = Date.now();
    clock = setInterval(() => {
      const seconds = Math.floor((Date.now() - startedAt) / 1000);
      elapsed.textContent = Math.floor(seconds / 60) + ":" + String(seconds % 60).padStart(2, "0");
    }, 500);
    poll = setInterval(showStatus, 1000);
    say(t("live_on_air"));
    stopButton.hidden = false;
    form.hidden = true;  // on a phone: the state, the stop button and the clusters at the top of the screen
  }

  startButton.addEventListener("click", async () => {
    errorBox.hidden = true;
    if (!window.isSecureContext || !navigator.mediaDevices) return say(t("live_https"), true);
    if (!("AudioEncoder" in window) || !("AudioWorkletNode" in window)) return say(t("live_browser"), true);
    const choose = name => Boolean(form.elements[name] && form.elements[name].checked);
    startButton.disabled = true;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: {
        channelCount: 1, echoCancellation: choose("echo_cancellation"), noiseSuppression: choose("noise_suppression"),
        autoGainControl: choose("auto_gain") } });
    } catch (error) {
      release();
      return say(t("live_no_microphone"), true);
    }
    let body = {};
    try {
      const response = await fetch(form.dataset.start, { method: "POST", body: new FormData(form),
                                                         credentials: "same-origin" });
      body = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(body.error ? body.error.message : t("live_failed"));
    } catch (error) {
      release();
      return say(error.message || t("server_lost"), true);
    }
    broadcastId = body.live.broadcast_id;
    panel.hidden = false;
    say(t("live_connecting"));
    number = 0;
    socket = new WebSocket(body.ws_url + "?ticket=" + encodeURIComponent(body.ticket));
    socket.binaryType = "arraybuffer";
    socket.addEventListener("message", async event => {
      const message = JSON.parse(event.data);
      if (message.type === "started") {
        await speak().catch(error => { say(t("live_failed") + " " + error.message, true); socket.close(); });
      } else if (message.type === "ended") {
        say(t("live_ended"));
        release();
        showStatus();
      } else if (message.type === "error") {
        say(message.message, true);
      }
    });
    socket.addEventListener("close", () => {
      if (encoder) {
        say(t("live_lost"), true);
        release();
      }
    });
  });

  stopButton.addEventListener("click", async () => {
    stopButton.disabled = true;
    if (encoder && encoder.state === "configured") await encoder.flush().catch(() => {});
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ type: "stop" }));
    } else if (broadcastId !== null) {  // the connection is gone: ask the server to end it everywhere
      const data = new FormData();
      data.append("csrf_token", form.elements["csrf_token"].value);
      await fetch(address(form.dataset.stop, broadcastId), { method: "POST", body: data, credentials: "same-origin" })
        .catch(() => {});
      release();
    }
    stopButton.disabled = false;
  });
})();
