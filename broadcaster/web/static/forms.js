// Every form speaks the page's language: the browser's own validation bubbles ("Please fill out this field")
// get our words, and each date or time field (templates/_when.html) gets a calendar in the page's language
// (flatpickr, vendored under static/vendor/flatpickr, loaded only on pages that have such a field). What the
// officer types stays as typed; the server reads it (dd/mm/yyyy HH:MM) and says what is wrong.
(function () {
  "use strict";
  const t = window.loaxaText;
  const script = document.currentScript || document.querySelector("script[data-vendor]");
  const FORMATS = {datetime: "d/m/Y H:i", date: "d/m/Y", time: "H:i"};

  function message(field) {
    const v = field.validity;
    if (v.valueMissing) {
      if (field.type === "checkbox" || field.type === "radio") return t("check_this");
      if (field.tagName === "SELECT") return t("choose_one");
      if (field.type === "file") return t("choose_file");
      return t("fill_this");
    }
    if (v.badInput) return t("a_number");
    if (v.rangeUnderflow) return t("at_least", {min: field.min});
    if (v.rangeOverflow) return t("at_most", {max: field.max});
    if (v.stepMismatch) return t("whole_number");
    if (v.tooShort) return t("too_short", {n: field.minLength});
    if (v.tooLong) return t("too_long_field", {n: field.maxLength});
    if (v.typeMismatch || v.patternMismatch) return t("wrong_format", {format: field.placeholder || field.title || ""});
    return "";
  }
  document.addEventListener("invalid", function (event) {
    const field = event.target;
    field.setCustomValidity("");
    if (!field.validity.valid) field.setCustomValidity(message(field));
  }, true);
  document.addEventListener("input", function (event) {
    if (event.target.setCustomValidity) event.target.setCustomValidity("");
  }, true);
  document.addEventListener("change", function (event) {
    if (event.target.setCustomValidity) event.target.setCustomValidity("");
  }, true);

  // Typed text to a Date, as the server reads it (for opening the calendar on what is already there).
  function parse(text, kind) {
    const s = (text || "").trim();
    let m = s.match(/^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:\s+(\d{1,2})[:hg](\d{2})?)?$/);
    if (m) return new Date(+m[3], +m[2] - 1, +m[1], +(m[4] || 0), +(m[5] || 0));
    m = s.match(/^(\d{1,2})[:hHg](\d{2})?$/);
    if (m) { const d = new Date(); d.setHours(+m[1], +(m[2] || 0), 0, 0); return d; }
    m = s.match(/^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}))?/);
    if (m) return new Date(+m[1], +m[2] - 1, +m[3], +(m[4] || 0), +(m[5] || 0));
    return null;
  }

  function attach(input) {
    const kind = input.dataset.when;
    const button = document.querySelector(`button.when-pick[data-for="${CSS.escape(input.id)}"]`);
    if (!button || !window.flatpickr) return;
    const holder = document.createElement("input");
    holder.type = "text";
    holder.tabIndex = -1;
    holder.setAttribute("aria-hidden", "true");
    holder.style.cssText = "position:absolute;width:1px;height:1px;opacity:0;pointer-events:none";
    button.after(holder);
    const lang = document.documentElement.lang;
    const picker = window.flatpickr(holder, {
      locale: lang === "vi" && window.flatpickr.l10ns.vn ? window.flatpickr.l10ns.vn : "default",
      enableTime: kind !== "date", noCalendar: kind === "time", time_24hr: true, dateFormat: FORMATS[kind],
      allowInput: false, clickOpens: false, disableMobile: true, positionElement: input,
      onChange: function (dates, text) {
        if (!dates.length) return;
        input.value = text;
        input.dispatchEvent(new Event("input", {bubbles: true}));
      },
    });
    button.hidden = false;
    button.addEventListener("click", function () {
      const current = parse(input.value, kind);
      if (current && !isNaN(current)) picker.setDate(current, false); else picker.clear(false);
      picker.open();
    });
  }

  const fields = document.querySelectorAll("input[data-when]");
  if (!fields.length || !script || !script.dataset.vendor) return;
  const base = script.dataset.vendor;
  const css = document.createElement("link");
  css.rel = "stylesheet";
  css.href = base + "flatpickr.min.css";
  document.head.append(css);
  function load(src) {
    return new Promise(function (resolve, reject) {
      const tag = document.createElement("script");
      tag.src = src;
      tag.onload = resolve;
      tag.onerror = reject;
      document.head.append(tag);
    });
  }
  load(base + "flatpickr.min.js").then(() => load(base + "l10n/vn.js")).then(function () {
    fields.forEach(attach);
    document.documentElement.dataset.pickers = "ready";
  }).catch(function () { /* no calendar: the field still takes typed text */ });
})();
