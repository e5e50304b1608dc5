// The pages' scripts speak the page's language: their text comes from the #i18n element the server fills.
(function () {
  "use strict";
  const element = document.getElementById("i18n");
  const text = element ? JSON.parse(element.textContent) : {};
  window.loaxaText = function (key, values) {
    let result = text[key] || key;
    for (const [name, value] of Object.entries(values || {})) result = result.replace(`%(${name})s`, value);
    return result;
  };
  // A moment as every page writes it: dd/mm/yyyy HH:MM, 24 hours, zero-padded, in the officer's time zone.
  window.loaxaMoment = function (iso, zone) {
    if (!iso) return "—";
    const parts = {};
    const format = new Intl.DateTimeFormat("en-GB", {timeZone: zone || undefined, year: "numeric", month: "2-digit",
      day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23"});
    for (const part of format.formatToParts(new Date(iso))) parts[part.type] = part.value;
    return `${parts.day}/${parts.month}/${parts.year} ${parts.hour}:${parts.minute}`;
  };
  // A number as the page's language writes it: 0,58 in Vietnamese, 0.58 in English.
  window.loaxaNumber = function (value, digits) {
    const lang = document.documentElement.lang === "en" ? "en-US" : "vi-VN";
    return Number(value).toLocaleString(lang, {maximumFractionDigits: digits == null ? 2 : digits,
                                               useGrouping: Math.abs(value) >= 10000});
  };
})();
