// html-validate's rules for every page of the Agreement tracker
// (tests/web/test_html_valid.py). The recommended preset, less only what is
// explained below.
module.exports = {
  extends: ["html-validate:recommended"],
  elements: ["html5"],
  rules: {
    // Jinja's whitespace control leaves spaces at some line ends. Nobody sees
    // them and they are not an HTML error; this rule is about tidy source.
    "no-trailing-whitespace": "off",
    // GOV.UK Frontend's date input (govukDateInput) writes
    // <fieldset role="group"> on purpose, so VoiceOver reads the legend with
    // the day, month and year fields; the rule has no per-element option.
    "no-redundant-role": "off",
    // A set of checkboxes shares one name (WTForms reads them as a list),
    // as radios do; the preset allows the sharing for radios only.
    // GOV.UK Frontend's Exit this page (govukExitThisPage, on every family page) is a link with
    // role="button" on purpose: without JavaScript it still leaves the page as a plain link.
    "prefer-native-element": ["error", { exclude: ["button"] }],
    // GOV.UK's title pattern "Page – Service – Council" runs past the rule's
    // 70 characters (a search-result length) with a long council's name; the
    // page part comes first, so nothing a person needs is cut.
    "long-title": "off",
    "form-dup-name": ["error", { shared: ["radio", "checkbox", "button", "reset", "submit"] }],
  },
};
