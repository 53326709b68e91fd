// On a 受理/办理 step (reviewer/case.html): ticking a material under 需补正的材料 means a 补正 is being written, so
// the decision 补正 is chosen with it when no decision is chosen yet. A decision already chosen is never changed.
(function () {
  var form = document.getElementById('task-form');
  if (!form) return;
  form.addEventListener('change', function (event) {
    var box = event.target;
    if (box.name !== 'missing_material' || !box.checked) return;
    if (form.querySelector('input[name=decision]:checked')) return;
    var correction = form.querySelector('input[name=decision][value=correction]');
    if (correction) {
      correction.checked = true;
      correction.dispatchEvent(new Event('change', { bubbles: true }));
    }
  });
})();
