// 项目代码校验：按代码带出项目名称和建设地点（服务端仍会再次校验）。
(function () {
  var button = document.getElementById('verify-code');
  if (!button) return;
  button.addEventListener('click', function () {
    var code = document.getElementById('f_project_code').value.trim();
    var status = document.getElementById('code-status');
    status.textContent = '校验中…';
    fetch('/enterprise/code/lookup?code=' + encodeURIComponent(code), {headers: {'Accept': 'application/json'}})
      .then(function (r) { return r.json().then(function (body) { return {ok: r.ok, body: body}; }); })
      .then(function (res) {
        if (!res.ok) { status.textContent = res.body.message; status.className = 'error-text'; return; }
        document.getElementById('f_project_code').value = res.body.project_code;
        document.getElementById('f_project_name').value = res.body.project_name;
        document.getElementById('f_location').value = res.body.location;
        status.textContent = '校验通过'; status.className = 'ok-text';
      });
  });
  // 固定资产投资 = 土建、公用工程及其他投资 + 设备及技术投资（仅作显示，服务端重新计算）
  function sum() {
    var a = parseFloat(document.getElementById('f_civil_investment').value) || 0;
    var b = parseFloat(document.getElementById('f_equipment_investment').value) || 0;
    document.getElementById('f_fixed_assets').value = (Math.round((a + b) * 10000) / 10000).toString();
  }
  ['f_civil_investment', 'f_equipment_investment'].forEach(function (id) {
    var el = document.getElementById(id); if (el) el.addEventListener('input', sum);
  });
})();
