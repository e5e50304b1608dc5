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
})();
