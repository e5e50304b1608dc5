// On a phone the header's links live behind the bottom bar's "more" button: it opens and closes them (Escape, or
// a tap outside them, closes them too).
(function () {
  "use strict";
  const button = document.getElementById("menu-button");
  const header = document.querySelector("header");
  if (!button || !header) return;
  function show(open) {
    header.classList.toggle("menu-open", open);
    button.setAttribute("aria-expanded", open ? "true" : "false");
  }
  button.addEventListener("click", () => show(button.getAttribute("aria-expanded") !== "true"));
  document.addEventListener("keydown", (event) => { if (event.key === "Escape") show(false); });
  document.addEventListener("click", (event) => {
    if (!header.contains(event.target) && !button.contains(event.target)) show(false);
  });
})();
