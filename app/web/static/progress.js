// 项目进展: add/remove yearly rows, clear a wrongly entered date (004 Q6), count the note's characters.
(function () {
  const table = document.querySelector('#years tbody');
  const template = document.getElementById('year-row');
  document.getElementById('add-year').addEventListener('click', function () {
    table.appendChild(template.content.cloneNode(true));
  });
  table.addEventListener('click', function (event) {
    if (event.target.classList.contains('remove-row')) event.target.closest('tr').remove();
  });
  document.querySelectorAll('.clear-date').forEach(function (button) {
    button.addEventListener('click', function () { document.getElementById(button.dataset.target).value = ''; });
  });
  const note = document.getElementById('f_completion_note');
  note.addEventListener('input', function () { document.getElementById('note-count').textContent = note.value.length; });
})();
