// 待办 (issue 14 item 8): 全选本页待签收 and a live count of the ticked rows for 批量签收. Loaded as a file (the
// Content-Security-Policy runs no inline script); without it the page works the same, one tick at a time.
(function () {
  'use strict';
  var form = document.getElementById('todo-form');
  if (!form) { return; }
  var boxes = Array.prototype.slice.call(form.querySelectorAll('input[name=task_ids]'));
  var all = document.getElementById('todo-select-all');
  var said = document.getElementById('todo-selected');
  var bulk = document.getElementById('todo-bulk-claim');
  var idle = said ? said.textContent : '';

  function update() {
    var ticked = boxes.filter(function (b) { return b.checked; }).length;
    if (said) { said.textContent = ticked ? '已选 ' + ticked + ' 件' : idle; }
    if (all) {
      all.checked = ticked > 0 && ticked === boxes.length;
      all.indeterminate = ticked > 0 && ticked < boxes.length;
    }
  }

  if (all && boxes.length) {
    all.parentNode.hidden = false;
    all.addEventListener('change', function () {
      boxes.forEach(function (b) { b.checked = all.checked; });
      update();
    });
  }
  if (!boxes.length && bulk) { bulk.disabled = true; }
  boxes.forEach(function (b) { b.addEventListener('change', update); });
  update();
}());
