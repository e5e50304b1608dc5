// "Kiểm tra giờ phát": ask the server what the air-time rules say and what this would overlap, before saving.
(function () {
  "use strict";
  const t = window.loaxaText;
  const form = document.getElementById("schedule-form");
  const button = document.getElementById("check-button");
  const result = document.getElementById("check-result");
  if (!form || !button) return;
  button.addEventListener("click", async function () {
    result.textContent = t("checking");
    const response = await fetch(form.dataset.checkUrl, {method: "POST", body: new FormData(form)});
    const answer = await response.json();
    result.replaceChildren();
    const lines = [];
    if (answer.message) lines.push(answer.message);
    for (const line of answer.breaches || []) lines.push(t("not_allowed", {line}));
    for (const line of answer.overlaps || []) lines.push(t("overlap", {line}));
    if (!lines.length) lines.push(t("allowed", {count: answer.devices}));
    for (const line of lines) {
      const p = document.createElement("p");
      p.className = answer.ok ? "note" : "error";
      p.textContent = line;
      result.append(p);
    }
  });
})();
