// 备案申请表：项目代码校验、固定资产投资与资金来源合计的即时计算。服务端提交时仍会全部重新校验和计算，
// 未启用脚本时表单照常可用（合计在每次保存或提交后由服务端显示）。
(function () {
  var form = document.getElementById('filing-form');
  if (!form) return;

  // 项目代码校验：按代码带出项目名称和建设地点，备案机关未选时按建设地点预选（仍可修改）。
  var button = document.getElementById('verify-code');
  if (button) {
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
          var authority = document.getElementById('f_authority_id');
          if (authority && !authority.value && res.body.authority_id) authority.value = res.body.authority_id;
          status.textContent = '校验通过'; status.className = 'ok-text';
        });
    });
  }

  // Amounts in ten-thousandths of 万元 as integers: no floating-point drift (0.1 + 0.2).
  function units(id) {
    var el = document.getElementById(id);
    if (!el) return null;
    var text = el.value.replace(/[,，\s]/g, '');
    if (text === '') return null;
    if (!/^\d+(\.\d{0,4})?$/.test(text)) return NaN;
    return Math.round(parseFloat(text) * 10000);
  }
  function plain(u) { return (u / 10000).toString(); }
  function shown(u) {  // 1,100 or 0.35: thousands grouped, no trailing zeros
    var whole = Math.floor(Math.abs(u) / 10000), frac = Math.abs(u) % 10000;
    var text = whole.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    if (frac) text += '.' + ('0000' + frac).slice(-4).replace(/0+$/, '');
    return (u < 0 ? '-' : '') + text;
  }

  // 固定资产投资 = 土建、公用工程及其他投资 + 设备及技术投资（仅作显示，服务端重新计算）
  function fixedAssets() {
    var out = document.getElementById('f_fixed_assets');
    if (!out) return;
    var a = units('f_civil_investment'), b = units('f_equipment_investment');
    if (isNaN(a) || isNaN(b)) return;
    out.value = plain((a || 0) + (b || 0));
  }

  // 资金来源合计（空项按 0 计）与总投资比较，写在「其他资金」下方（与服务端 filing_rules.funds_summary 同样的措辞）
  var FUNDS = ['f_own_funds', 'f_domestic_loans', 'f_securities', 'f_other_funds'];
  function fundsLine() {
    var note = document.getElementById('note-other_funds');
    if (!note) return;
    var total = 0;
    for (var i = 0; i < FUNDS.length; i++) {
      var u = units(FUNDS[i]);
      if (isNaN(u)) { note.textContent = '资金来源中有金额格式不正确，请填写数字（万元）'; return; }
      total += u || 0;
    }
    var line = '资金来源合计 ' + shown(total) + ' 万元';
    var invest = units('f_total_investment');
    if (invest !== null && !isNaN(invest)) {
      if (invest === total) line += '，与总投资一致';
      else line += '，总投资 ' + shown(invest) + ' 万元，' + (invest > total ? '还差 ' : '超出 ') +
        shown(Math.abs(invest - total)) + ' 万元';
    }
    note.textContent = line;
  }

  ['f_civil_investment', 'f_equipment_investment'].forEach(function (id) {
    var el = document.getElementById(id); if (el) el.addEventListener('input', fixedAssets);
  });
  FUNDS.concat(['f_total_investment']).forEach(function (id) {
    var el = document.getElementById(id); if (el) el.addEventListener('input', fundsLine);
  });
  fundsLine();
})();
