/* The agent workspace: keyboard shortcuts and re-targeting the intake form at the customer shown.
 * Loaded as a static file (the CSP allows no inline script); URLs come from data attributes. */
(function () {
  "use strict";

  function currentAccount() {
    const card = document.getElementById("customer-card");
    return card ? card.dataset.account || "" : "";
  }

  function intakeUrl() {
    const select = document.getElementById("ws-order-type");
    return select ? select.getAttribute("hx-get") : "";
  }

  document.addEventListener("keydown", function (e) {
    const tag = (e.target.tagName || "").toLowerCase();
    const typing = tag === "input" || tag === "textarea" || tag === "select";
    if (e.key === "/" && !typing) { e.preventDefault(); document.getElementById("ws-search").focus(); }
    if (e.altKey && (e.key === "n" || e.key === "N")) { e.preventDefault(); document.getElementById("ws-order-type").focus(); }
    if (e.altKey && (e.key === "k" || e.key === "K")) { e.preventDefault(); const kb = document.querySelector("#kb-slot input[name=q]"); if (kb) kb.focus(); }
    if (e.altKey && (e.key === "h" || e.key === "H")) {
      e.preventDefault();
      const hint = document.querySelector("[data-handover-url]");
      if (hint) window.location.href = hint.dataset.handoverUrl;
    }
    if (e.key === "Escape") { const r = document.getElementById("search-results"); if (r) r.innerHTML = ""; }
  });

  // The order-type switch asks for the form of the customer on screen.
  document.addEventListener("htmx:configRequest", function (e) {
    if (e.detail.elt && e.detail.elt.id === "ws-order-type") {
      e.detail.parameters.account_no = currentAccount();
    }
  });

  // A customer shown in the pane (screen pop, search result, candidate) re-targets the intake form.
  let shownAccount = currentAccount();  // deferred: the page is parsed when this runs
  function customerChanged() {
    const account = currentAccount();
    if (account && account !== shownAccount) {
      shownAccount = account;
      const params = new URLSearchParams({ type: document.getElementById("ws-order-type").value, account_no: account });
      htmx.ajax("GET", intakeUrl() + "?" + params.toString(), "#intake-slot");
    }
  }
  document.body.addEventListener("htmx:afterSettle", customerChanged);
  document.body.addEventListener("htmx:oobAfterSwap", customerChanged);
})();
