// The properties our engine reads, in a policy officer's words: form and candidate role of a user task, the
// variables that fill its inbox row, scripts, gateway conditions, timers, loops, decision tables, called
// processes. Everything else in the panel is bpmn-js's own (name, id, documentation …), translated.
import { SelectEntry, TextAreaEntry, TextFieldEntry, isSelectEntryEdited, isTextAreaEntryEdited, isTextFieldEntryEdited } from '@bpmn-io/properties-panel';
import { useService } from 'bpmn-js-properties-panel';
import { getBusinessObject, is } from 'bpmn-js/lib/util/ModelUtil';

const SPIFF_PROPERTIES = [
  ['formKey', '表单', '办理这一步时填写的表单（forms/ 中的表单标识）'],
  ['candidateRole', '候选角色', '谁可以签收办理：受理人员、办理人员或申请人'],
  ['assigneeVar', '办理人变量', '直接指派给某人时，存放其账号的变量名（如 applicant）'],
  ['titleVar', '待办标题变量', '待办列表中显示的标题取自哪个变量'],
  ['scopeVar', '事项范围变量', '并联审批中该任务属于哪个事项（事项编码所在的变量）'],
  ['dueVar', '办理期限变量', '待办列表中的办理期限取自哪个变量（ISO 时间）'],
  ['remindVar', '提醒时间变量', '到期提醒时间取自哪个变量（ISO 时间）'],
  ['departmentVar', '办理部门变量', '由哪个部门办理：存放部门编号的变量，未设置时为 department_id（备案机关或事项的办理部门）'],
  ['regionVar', '办理地区变量', '办理地区（行政区划代码）所在的变量，未设置时为 region_code']
];

// ---- reading and writing the model ---------------------------------------------------------------------
function extension(bo, type) {
  const elements = (bo.extensionElements && bo.extensionElements.values) || [];
  return elements.find((e) => e.$type === type);
}

function ensureExtensions(bo, bpmnFactory, commands, element) {
  if (!bo.extensionElements) {
    const extensionElements = bpmnFactory.create('bpmn:ExtensionElements', { values: [] });
    extensionElements.$parent = bo;
    commands.push({ cmd: 'element.updateModdleProperties',
      context: { element, moddleElement: bo, properties: { extensionElements } } });
    return extensionElements;
  }
  return bo.extensionElements;
}

function spiffProperty(bo, name) {
  const props = extension(bo, 'spiffworkflow:Properties');
  const found = props && (props.properties || []).find((p) => p.name === name);
  return found ? found.value : '';
}

function setSpiffProperty(element, name, value, { bpmnFactory, commandStack }) {
  const bo = getBusinessObject(element);
  const commands = [];
  const extensionElements = ensureExtensions(bo, bpmnFactory, commands, element);
  let props = extension(bo, 'spiffworkflow:Properties');
  if (!props) {
    props = bpmnFactory.create('spiffworkflow:Properties', { properties: [] });
    props.$parent = extensionElements;
    commands.push({ cmd: 'element.updateModdleProperties', context: { element, moddleElement: extensionElements,
      properties: { values: [...(extensionElements.values || []), props] } } });
  }
  const existing = (props.properties || []).find((p) => p.name === name);
  let list = (props.properties || []).filter((p) => p !== existing);
  if (value) {
    const property = existing || bpmnFactory.create('spiffworkflow:Property', { name });
    property.$parent = props;
    if (existing) {
      commands.push({ cmd: 'element.updateModdleProperties', context: { element, moddleElement: existing,
        properties: { value } } });
      list = props.properties;
    } else {
      property.value = value;
      list = [...list, property];
    }
  }
  commands.push({ cmd: 'element.updateModdleProperties', context: { element, moddleElement: props,
    properties: { properties: list } } });
  commandStack.execute('properties-panel.multi-command-executor', commands);
}

function bodyOf(holder) {
  return holder ? (holder.body !== undefined ? holder.body : holder.value) || '' : '';
}

// A FormalExpression-valued property (conditionExpression, loopCondition, timeDuration …) of a moddle element.
function setExpression(element, moddleElement, property, text, { bpmnFactory, modeling }) {
  const value = text ? bpmnFactory.create('bpmn:FormalExpression', { body: text }) : undefined;
  if (value) value.$parent = moddleElement;
  modeling.updateModdleProperties(element, moddleElement, { [property]: value });
}

function useServices() {
  return { bpmnFactory: useService('bpmnFactory'), commandStack: useService('commandStack'),
    modeling: useService('modeling'), debounce: useService('debounceInput') };
}

// ---- entries -----------------------------------------------------------------------------------------------
function SpiffPropertyEntry(props) {
  const { element, id, name, label, description, options } = props;
  const services = useServices();
  const bo = getBusinessObject(element);
  const getValue = () => spiffProperty(bo, name);
  const setValue = (value) => setSpiffProperty(element, name, value, services);
  if (options) {
    const getOptions = () => {
      const current = getValue();
      const known = options.map(([value, text]) => ({ value, label: `${text}（${value}）` }));
      const list = [{ value: '', label: '（未设置）' }, ...known];
      return current && !options.some(([value]) => value === current)
        ? [...list, { value: current, label: `${current}（不存在）` }] : list;
    };
    return <SelectEntry element={element} id={id} label={label} description={description}
      getValue={getValue} setValue={setValue} getOptions={getOptions} />;
  }
  return <TextFieldEntry element={element} id={id} label={label} description={description}
    getValue={getValue} setValue={setValue} debounce={services.debounce} />;
}

function ScriptEntry({ element, id }) {
  const services = useServices();
  const bo = getBusinessObject(element);
  return <TextAreaEntry element={element} id={id} label="脚本" monospace rows={8} debounce={services.debounce}
    description="Python 语句，在沙箱中运行。例：time_limit = 3 表示办理时限 3 个工作日；emit(&quot;事件名&quot;, 字段=值) 通知平台"
    getValue={() => bo.script || ''}
    setValue={(value) => services.modeling.updateProperties(element, { script: value || undefined })} />;
}

function ExpressionEntry({ element, id, label, description, holder, property }) {
  const services = useServices();
  return <TextAreaEntry element={element} id={id} label={label} description={description} monospace rows={2}
    debounce={services.debounce} getValue={() => bodyOf(holder()[property])}
    setValue={(value) => setExpression(element, holder(), property, value, services)} />;
}

const TIMER_TYPES = [['timeDate', '到期时间（ISO 日期时间或变量）'], ['timeDuration', '时长（如 "P3D"）'],
  ['timeCycle', '循环（如 "R3/PT24H"）']];

function TimerEntry({ element, id, definition }) {
  const services = useServices();
  const type = () => TIMER_TYPES.map(([t]) => t).find((t) => definition[t]) || 'timeDate';
  return <>
    <SelectEntry element={element} id={`${id}-type`} label="定时方式" getValue={type}
      getOptions={() => TIMER_TYPES.map(([value, label]) => ({ value, label }))}
      setValue={(value) => {
        const text = bodyOf(definition[type()]);
        const changes = Object.fromEntries(TIMER_TYPES.map(([t]) => [t, undefined]));
        const expression = services.bpmnFactory.create('bpmn:FormalExpression', { body: text });
        expression.$parent = definition;
        services.modeling.updateModdleProperties(element, definition, { ...changes, [value]: expression });
      }} />
    <TextAreaEntry element={element} id={`${id}-value`} label="定时表达式" monospace rows={2}
      description="得到 ISO 8601 字符串的表达式：&quot;P3D&quot;（3天）、due_at（变量中算好的到期时间，按工作日由日历计算）"
      debounce={services.debounce} getValue={() => bodyOf(definition[type()])}
      setValue={(value) => setExpression(element, definition, type(), value, services)} />
  </>;
}

function ExtensionBodyEntry({ element, id, label, description, type }) {
  const services = useServices();
  const bo = getBusinessObject(element);
  const getValue = () => bodyOf(extension(bo, type));
  const setValue = (value) => {
    const commands = [];
    const extensionElements = ensureExtensions(bo, services.bpmnFactory, commands, element);
    const existing = extension(bo, type);
    let values = (extensionElements.values || []).filter((e) => e !== existing);
    if (value) {
      const created = services.bpmnFactory.create(type, { value });
      created.$parent = extensionElements;
      values = [...values, created];
    }
    commands.push({ cmd: 'element.updateModdleProperties', context: { element, moddleElement: extensionElements,
      properties: { values } } });
    services.commandStack.execute('properties-panel.multi-command-executor', commands);
  };
  return <TextFieldEntry element={element} id={id} label={label} description={description}
    getValue={getValue} setValue={setValue} debounce={services.debounce} />;
}

function CalledElementEntry({ element, id }) {
  const services = useServices();
  const bo = getBusinessObject(element);
  return <TextFieldEntry element={element} id={id} label="被调用流程标识" debounce={services.debounce}
    description="调用的流程（如 item_handling：每个审批事项的受理、办理、办结）"
    getValue={() => bo.calledElement || ''}
    setValue={(value) => services.modeling.updateProperties(element, { calledElement: value || undefined })} />;
}

// ---- groups --------------------------------------------------------------------------------------------------
function groupsFor(element, options) {
  const bo = getBusinessObject(element);
  const groups = [];
  if (is(element, 'bpmn:UserTask')) {
    const choices = { formKey: options.forms, candidateRole: options.roles };
    groups.push({ id: 'spiff-task', label: '办理设置', entries: SPIFF_PROPERTIES.map(([name, label, description]) => ({
      id: `spiff-${name}`, component: SpiffPropertyEntry, name, label, description, options: choices[name],
      isEdited: choices[name] ? isSelectEntryEdited : isTextFieldEntryEdited })) });
  }
  if (is(element, 'bpmn:ScriptTask')) {
    groups.push({ id: 'spiff-script', label: '脚本', entries: [{ id: 'script', component: ScriptEntry,
      isEdited: isTextAreaEntryEdited }] });
  }
  if (is(element, 'bpmn:Activity')) {
    const entries = ['spiffworkflow:PreScript', 'spiffworkflow:PostScript'].map((type) => ({
      id: type.replace(':', '-'), component: ExtensionBodyEntry, type, isEdited: isTextFieldEntryEdited,
      label: type.endsWith('PreScript') ? '进入前脚本' : '完成后脚本',
      description: type.endsWith('PreScript') ? '这一步开始前运行的语句' : '这一步完成后运行的语句' }));
    groups.push({ id: 'spiff-scripts', label: '前后脚本', entries });
  }
  if (is(element, 'bpmn:SequenceFlow') && bo.sourceRef && is(bo.sourceRef, 'bpmn:Gateway')) {
    groups.push({ id: 'spiff-condition', label: '条件', entries: [{ id: 'condition', component: ExpressionEntry,
      label: '流转条件', holder: () => getBusinessObject(element), property: 'conditionExpression',
      description: '为真时走这条线，例：decision == "accept"；留空表示默认路线', isEdited: isTextAreaEntryEdited }] });
  }
  const timer = (bo.eventDefinitions || []).find((d) => is(d, 'bpmn:TimerEventDefinition'));
  if (timer) {
    groups.push({ id: 'spiff-timer', label: '定时器', entries: [{ id: 'timer', component: TimerEntry, definition: timer }] });
  }
  const loop = bo.loopCharacteristics;
  if (loop && is(loop, 'bpmn:StandardLoopCharacteristics')) {
    groups.push({ id: 'spiff-loop', label: '循环', entries: [{ id: 'loop-condition', component: ExpressionEntry,
      label: '继续循环的条件', holder: () => getBusinessObject(element).loopCharacteristics, property: 'loopCondition',
      description: '每轮结束后为真则再来一轮（如补正后重新申报）', isEdited: isTextAreaEntryEdited }] });
  }
  if (loop && is(loop, 'bpmn:MultiInstanceLoopCharacteristics')) {
    groups.push({ id: 'spiff-multi', label: '多实例（并联）', entries: [{ id: 'completion-condition', component: ExpressionEntry,
      label: '提前完成条件', holder: () => getBusinessObject(element).loopCharacteristics, property: 'completionCondition',
      description: '为真时不再等待其余实例；留空表示全部完成', isEdited: isTextAreaEntryEdited }] });
  }
  if (is(element, 'bpmn:BusinessRuleTask')) {
    groups.push({ id: 'spiff-decision', label: '决策表', entries: [{ id: 'decision', component: ExtensionBodyEntry,
      type: 'spiffworkflow:CalledDecisionId', label: '决策表标识', isEdited: isTextFieldEntryEdited,
      description: '调用的决策表（如 item_determination：按问卷确定须办理的事项）' }] });
  }
  if (is(element, 'bpmn:CallActivity')) {
    groups.push({ id: 'spiff-called', label: '被调用流程', entries: [{ id: 'called', component: CalledElementEntry,
      isEdited: isTextFieldEntryEdited }] });
  }
  return groups;
}

class SpiffPropertiesProvider {
  constructor(propertiesPanel, studioOptions) {
    this.options = studioOptions;
    propertiesPanel.registerProvider(500, this);
  }

  getGroups(element) {
    return (groups) => {
      // The generic timer and multi-instance groups edit the same fields in English terms: ours replace them.
      const kept = groups.filter((g) => !['timer', 'multiInstance'].includes(g.id));
      const general = kept.findIndex((g) => g.id === 'general');
      kept.splice(general + 1, 0, ...groupsFor(element, this.options));
      return kept;
    };
  }
}
SpiffPropertiesProvider.$inject = ['propertiesPanel', 'studioOptions'];

export default function spiffPropertiesModule(options) {
  return { __init__: ['spiffPropertiesProvider'], spiffPropertiesProvider: ['type', SpiffPropertiesProvider],
    studioOptions: ['value', options] };
}
