// Agreement tracker - page JavaScript.
//
// This is an ES module (GOV.UK Frontend 6 ships govuk-frontend.min.js as an ES
// module, so it can only be imported, not loaded as a classic script). Include it
// once, at the end of <body>, with no inline script anywhere:
//
//   <script type="module" src="/static/js/app.js"></script>
//
// Browsers without ES module support never run this file, so they never get the
// `govuk-frontend-supported` class and GOV.UK Frontend stays in its no-JS mode,
// which is exactly what GOV.UK Frontend's own template snippet does.
import { initAll } from './govuk-frontend.min.js'

// Classes GOV.UK Frontend 6 expects on <body>. layout.html's one inline script
// (allowed by its CSP hash) adds them as the body opens; adding them again here
// is harmless and covers a page that does not have it:
// - js-enabled: CSS hook for JavaScript-enhanced styles (accordion, tabs, ...)
// - govuk-frontend-supported: initAll() refuses to run without it (SupportError)
document.body.classList.add('js-enabled', 'govuk-frontend-supported')

function start () {
  initAll()
}

if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', start)
} else {
  start()
}
