// "Nghe thử": render the typed text as it will air, play it, and show what the listening check understood, as
// advice. The review page's "Nghe bản sẽ phát" uses the same code with a form that holds no text: the server reads
// the bulletin's own text, voice and speed. The write form also says how long the text takes to read, as one types.
(function () {
  "use strict";
  const t = window.loaxaText;
  const button = document.getElementById("preview-button");
  if (!button) return;
  const form = button.form;
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
  const estimate = document.getElementById("spoken-estimate");
  if (estimate && textField) {
    const perMinute = Number(estimate.dataset.wpm), most = Number(estimate.dataset.most);
    const say = () => {
      const seconds = Math.round(words(textField.value).length / perMinute * 60 /
                                 Number(form.elements["speed"] ? form.elements["speed"].value || 1 : 1));
      const minutes = Math.floor(seconds / 60), rest = seconds % 60;
      const length = minutes ? t("minutes_seconds", {minutes, seconds: rest}) : t("seconds", {seconds});
      estimate.textContent = seconds > most ? t("too_long", {length, most: most / 60}) : t("reads_in", {length});
      estimate.className = seconds > most ? "error" : "";
    };
    textField.addEventListener("input", say);
    if (form.elements["speed"]) form.elements["speed"].addEventListener("change", say);
    if (textField.value) say();
  }
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
    if (form.elements["text"]) data.append("text", form.elements["text"].value);
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
      // The listening check is advice: with the robotic voice it only says so (it would mark nearly every word);
      // with a natural one it names the few words to listen to again.
      let missed = new Set();
      listening.className = "note";
      if (!body.natural_voice) {
        listening.textContent = t("robotic_voice");
      } else if (body.listening) {
        missed = new Set(body.listening.missed);
        const percent = Math.round(body.listening.understood * 100);
        listening.textContent = percent >= 80 && !missed.size ? t("heard_well")
          : t("listen_again", {words: [...missed].slice(0, 8).join(", ")});
      } else if (body.listening_problem) {
        listening.textContent = t("not_checked", {problem: body.listening_problem});
      } else {
        listening.textContent = "";
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
