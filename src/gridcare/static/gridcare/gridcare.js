/* GridCare page behaviour, wired by data attributes (no inline script: the CSP forbids it).
 *
 *   data-href="URL"           a click on the element (a table row) opens URL, unless the click
 *                             was on a link, button or form field inside it
 *   data-autosubmit           a change of this field submits its form
 *   data-clear="#selector"    a click empties the element the selector names
 *   data-send="name ..."      every htmx request of the element sends these of its data-* values
 *                             (data-v → v) as parameters, read when the request leaves
 *   data-split-target         a <select> whose value "kind:code" fills the form's hidden fields
 *                             level (kind), transformer_area (code if kind is area) and feeder
 */
(function () {
  "use strict";

  document.addEventListener("click", function (e) {
    const clear = e.target.closest("[data-clear]");
    if (clear) {
      const target = document.querySelector(clear.dataset.clear);
      if (target) target.innerHTML = "";
      return;
    }
    const row = e.target.closest("[data-href]");
    if (!row || e.target.closest("a, button, input, select, textarea, label")) return;
    if (e.ctrlKey || e.metaKey) {
      window.open(row.dataset.href, "_blank");
    } else {
      window.location.href = row.dataset.href;
    }
  });

  document.addEventListener("change", function (e) {
    const field = e.target;
    if (field.matches("[data-autosubmit]") && field.form) {
      field.form.submit();
    }
    if (field.matches("[data-split-target]") && field.form) {
      const parts = field.value.split(":");
      const kind = parts[0] || "";
      const code = parts.slice(1).join(":");
      field.form.elements.level.value = kind;
      field.form.elements.transformer_area.value = kind === "area" ? code : "";
      field.form.elements.feeder.value = kind === "feeder" ? code : "";
    }
  });

  document.addEventListener("htmx:configRequest", function (e) {
    const elt = e.detail.elt;
    if (!elt || !elt.dataset || !elt.dataset.send) return;
    elt.dataset.send.split(/\s+/).forEach(function (name) {
      if (name && elt.dataset[name] !== undefined) e.detail.parameters[name] = elt.dataset[name];
    });
  });
})();
