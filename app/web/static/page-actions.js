// Behaviour wired by data- attributes: the Content-Security-Policy (script-src 'self') runs no inline script or
// on*= handler; base.html includes this file on every page.
(function () {
  // <form data-confirm="…">: ask before a step that cannot be undone (撤回, 注销, 撤销).
  document.addEventListener('submit', function (event) {
    var message = event.target.getAttribute && event.target.getAttribute('data-confirm');
    if (message && !window.confirm(message)) event.preventDefault();
  });
  // <a data-back href="…">: back to the previous page; the href is where to go when there is no history.
  document.querySelectorAll('a[data-back]').forEach(function (link) {
    link.addEventListener('click', function (event) {
      if (window.history.length > 1) { event.preventDefault(); window.history.back(); }
    });
  });
})();
