// "Nghe thử": render the typed text as it will air, play it, and show what the listening check understood.
(function () {
  "use strict";
  const t = window.loaxaText;
  const button = document.getElementById("preview-button");
  if (!button) return;
  const form = document.getElementById("send-form");
  const box = document.getElementById("preview");
  const status = document.getElementById("preview-status");
  const audio = document.getElementById("preview-audio");
  const listening = document.getElementById("preview-listening");
  const reading = document.getElementById("preview-reading");

  function words(text) {
    return text.toLowerCase().normalize("NFC").match(/[\p{L}\p{N}]+/gu) || [];
  }

  function showReading(sentences, missed) {
    reading.replaceChildren();
    for (const sentence of sentences) {
      const item = document.createElement("li");
      for (const part of sentence.split(/(\s+)/)) {
        const word = words(part)[0];
        if (word && missed.has(word)) {
          const mark = document.createElement("mark");
          mark.textContent = part;
          mark.title = t("missed_word");
          item.append(mark);
        } else {
          item.append(part);
        }
      }
      reading.append(item);
    }
  }

  // Where the machine guessed ("3/12": a date or three out of twelve? an unknown acronym or word), it says so and
  // offers the likely readings; one tap saves the choice in the commune's dictionary and reads the text again.
  const marksBox = document.getElementById("reading-marks");
  function showMarks(marks) {
    if (!marksBox) return;
    marksBox.replaceChildren(...(marks || []).map(mark => {
      const item = document.createElement("li");
      item.append(t("unsure", {text: mark.text}), " ");
      for (const choice of mark.readings) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "choice";
        button.textContent = choice;
        button.addEventListener("click", () => saveReading(mark.text, choice, item));
        item.append(button, " ");
      }
      return item;
    }));
  }
  async function saveReading(word, choice, item) {
    const data = new FormData();
    data.append("csrf_token", form.elements["csrf_token"].value);
    data.append("word", word);
    data.append("reading", choice);
    try {
      const response = await fetch(marksBox.dataset.url, { method: "POST", body: data, credentials: "same-origin" });
      const body = (response.headers.get("Content-Type") || "").includes("json") ? await response.json() : {};
      if (!response.ok) {
        item.textContent = body.error ? body.error.message : t("save_failed");
        return;
      }
      item.textContent = t("saved", {text: body.word, reading: body.reading});
      if (textField) textField.dispatchEvent(new Event("input"));
    } catch (error) {
      item.textContent = t("server_lost");
    }
  }

  // The reading follows the typing (text only, no audio): numbers, dates and abbreviations as they will be read.
  const live = document.getElementById("live-reading");
  const textField = form.elements["text"];
  let timer = null;
  if (live && textField) {
    textField.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        if (!textField.value.trim()) { live.replaceChildren(); return; }
        const data = new FormData();
        data.append("csrf_token", form.elements["csrf_token"].value);
        data.append("text", textField.value);
        try {
          const response = await fetch(live.dataset.url, { method: "POST", body: data, credentials: "same-origin" });
          if (!response.ok) return;
          const body = await response.json();
          live.replaceChildren(...body.sentences.map(sentence => {
            const item = document.createElement("li");
            item.textContent = sentence;
            return item;
          }));
          showMarks(body.marks);
        } catch (error) { /* offline for a moment: the next keystroke tries again */ }
      }, 500);
    });
  }

  button.addEventListener("click", async () => {
    const data = new FormData();
    data.append("csrf_token", form.elements["csrf_token"].value);
    data.append("text", form.elements["text"].value);
    for (const name of ["voice", "speed"]) {
      if (form.elements[name]) data.append(name, form.elements[name].value);
    }
    box.hidden = false;
    status.textContent = t("rendering");
    listening.textContent = "";
    reading.replaceChildren();
    audio.removeAttribute("src");
    button.disabled = true;
    try {
      const response = await fetch(button.dataset.url, { method: "POST", body: data, credentials: "same-origin" });
      const body = await response.json();
      if (!response.ok) {
        status.textContent = body.error ? body.error.message : t("render_failed");
        return;
      }
      status.textContent = t("will_air", {seconds: Math.round(body.duration_s)}) + " " +
        t("read_by", {voice: body.voice_label}) +
        (body.voice_problem ? t("voice_fallback", {voice: body.voice_label}) : "") + ":";
      audio.src = body.audio_url;
      const missed = new Set(body.listening ? body.listening.missed : []);
      if (body.listening) {
        const percent = Math.round(body.listening.understood * 100);
        listening.textContent = t("understood", {percent: percent + "%"}) + (missed.size ? t("marked") : "");
        listening.className = percent >= 80 ? "state played" : "state failed";
      } else {
        listening.textContent = t("not_checked", {problem: body.listening_problem});
        listening.className = "";
      }
      showReading(body.sentences, missed);
      showMarks(body.marks);
    } catch (error) {
      status.textContent = t("server_lost");
    } finally {
      button.disabled = false;
    }
  });
})();
