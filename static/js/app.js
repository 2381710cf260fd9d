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

// The timeout warning (templates/_timeout_warning.html; issue 22, WCAG 2.2.1).
//
// The page says how many seconds its session has left unused and how long before
// that to warn. The warning is a modal <dialog>: focus moves into it and back to
// where it was when it closes; a role="alert" region says it out loud. "Stay
// signed in" (or Escape) asks the server to count the session as used now, as
// often as the person likes. When the time runs out, a form with a draft saves
// its typing first (the server keeps it even for a session that has just ended),
// so nothing typed is lost; any other page goes to the sign-in page.
function minutesAndSeconds (seconds) {
  if (seconds >= 60) {
    const minutes = Math.ceil(seconds / 60)
    return minutes === 1 ? '1 minute' : minutes + ' minutes'
  }
  return seconds === 1 ? '1 second' : seconds + ' seconds'
}

const AFTER_THE_LIMIT_MS = 2000

function startTimeoutWarning (dialog) {
  if (typeof dialog.showModal !== 'function') return
  const warnSeconds = Number(dialog.dataset.warnSeconds)
  const countdown = dialog.querySelector('.app-timeout-warning__countdown')
  const spoken = dialog.querySelector('[data-timeout-spoken]')
  const announce = dialog.querySelector('[data-timeout-announce]')
  const stay = dialog.querySelector('[data-timeout-stay]')
  let deadline = 0
  let warnTimer = null
  let tick = null
  let returnFocus = null
  let lastSpoken = null

  function secondsLeft () {
    return Math.max(0, Math.round((deadline - Date.now()) / 1000))
  }

  function schedule (seconds) {
    deadline = Date.now() + seconds * 1000
    clearTimeout(warnTimer)
    warnTimer = setTimeout(open, Math.max(0, (seconds - warnSeconds) * 1000))
  }

  function say (words) {
    // Emptied first, so the same words said again are announced again.
    announce.textContent = ''
    setTimeout(function () { announce.textContent = words }, 50)
  }

  function update () {
    const left = secondsLeft()
    const words = minutesAndSeconds(left)
    countdown.textContent = words
    // Screen readers hear the time at the opening and then every 15 seconds in the last minute, not every second.
    const step = left >= 60 ? Math.ceil(left / 60) * 60 : Math.ceil(left / 15) * 15
    if (step !== lastSpoken) {
      spoken.textContent = words
      if (lastSpoken !== null) say('You will be signed out in ' + words + '.')
      lastSpoken = step
    }
    // A moment after the server's own limit, so the draft saved then is kept as the typing of an ended
    // session: saved a moment before, it would count as activity and keep an unattended page signed in.
    if (Date.now() >= deadline + AFTER_THE_LIMIT_MS) timedOut()
  }

  function open () {
    if (dialog.open) return
    returnFocus = document.activeElement
    lastSpoken = null
    update()
    dialog.showModal()
    stay.focus()
    say("You're about to be signed out. For your security, we will sign you out in " +
        minutesAndSeconds(secondsLeft()) + ' if you do nothing. Stay signed in, or sign out.')
    tick = setInterval(update, 1000)
  }

  function close () {
    clearInterval(tick)
    announce.textContent = ''
    if (dialog.open) dialog.close()
    if (returnFocus && typeof returnFocus.focus === 'function') returnFocus.focus()
    returnFocus = null
  }

  function timedOut () {
    clearInterval(tick)
    clearTimeout(warnTimer)
    const later = document.querySelector('form[data-draft] [data-draft-later]')
    if (later && later.form.requestSubmit) {
      later.form.requestSubmit(later)
      return
    }
    const next = window.location.pathname + window.location.search
    window.location.assign(dialog.dataset.signedOutUrl + '&next=' + encodeURIComponent(next))
  }

  function staySignedIn () {
    stay.disabled = true
    fetch(dialog.dataset.keepAliveUrl, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'X-CSRFToken': dialog.dataset.csrfToken, Accept: 'application/json' }
    }).then(function (response) {
      return response.ok ? response.json() : { signed_in: false }
    }).then(function (answer) {
      stay.disabled = false
      if (!answer.signed_in) return timedOut()
      schedule(answer.seconds_left)
      close()
    }).catch(function () {
      // No answer (the network dropped): stay open, so the person can try again.
      stay.disabled = false
    })
  }

  stay.addEventListener('click', staySignedIn)
  // Escape is "Stay signed in", as the GOV.UK pattern has it, not a silent close.
  dialog.addEventListener('cancel', function (event) {
    event.preventDefault()
    staySignedIn()
  })
  // A request htmx made (an autosave) used the session too: the server says how long it has now.
  document.body.addEventListener('htmx:afterRequest', function (event) {
    const xhr = event.detail && event.detail.xhr
    const left = xhr && xhr.getResponseHeader('X-Session-Seconds-Left')
    if (left !== null && left !== undefined && left !== '' && !dialog.open) schedule(Number(left))
  })
  schedule(Number(dialog.dataset.secondsLeft))
}

function start () {
  initAll()
  const dialog = document.getElementById('timeout-warning')
  if (dialog) startTimeoutWarning(dialog)
}

if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', start)
} else {
  start()
}
