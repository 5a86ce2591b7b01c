// Marks the requests an element with hx-trigger="every …" makes by itself as polls, so they do
// not keep an idle session alive (gridcare.core.middleware.SessionLifetimeMiddleware).
document.addEventListener("htmx:configRequest", function (event) {
  var trigger = event.detail.elt && event.detail.elt.getAttribute("hx-trigger");
  if (trigger && /^\s*every\s/.test(trigger)) {
    event.detail.headers["X-GridCare-Poll"] = "1";
  }
});
