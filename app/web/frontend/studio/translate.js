// Chinese for the designer's own words (palette, context pad, replace menu, properties panel). A string not
// listed stays as bpmn-js wrote it; {placeholders} are filled as bpmn-js's default translate does.
const WORDS = {
  'Activate hand tool': '拖动画布', 'Activate lasso tool': '框选', 'Activate create/remove space tool': '插入/删除空白',
  'Activate global connect tool': '连线', 'Create start event': '开始事件', 'Create intermediate/boundary event': '中间/边界事件',
  'Create end event': '结束事件', 'Create gateway': '网关', 'Create task': '任务', 'Create data object reference': '数据对象',
  'Create data store reference': '数据存储', 'Create expanded sub-process': '子流程', 'Create pool/participant': '泳池',
  'Create group': '分组', 'Append end event': '接结束事件', 'Append gateway': '接网关', 'Append task': '接任务',
  'Append intermediate/boundary event': '接中间事件', 'Append text annotation': '添加注释', 'Change element': '更改类型',
  'Change type': '更改类型', 'Delete': '删除', 'Connect using sequence/message flow or association': '连线',
  'Connect using association': '关联连线', 'Connect to other element': '连到其他元素', 'Add text annotation': '添加注释',
  'Add lane above': '上方加泳道', 'Add lane below': '下方加泳道', 'Divide into two lanes': '分为两条泳道',
  'Divide into three lanes': '分为三条泳道', 'General': '常规', 'Name': '名称', 'ID': '标识', 'Documentation': '说明',
  'Element documentation': '元素说明', 'Process documentation': '流程说明', 'Version tag': '版本标签',
  'Executable': '可执行', 'Process': '流程', 'Task': '任务', 'User task': '用户任务', 'Script task': '脚本任务',
  'Service task': '服务任务', 'Business rule task': '决策表任务', 'Call activity': '调用活动', 'Sub-process': '子流程',
  'Sub-process (collapsed)': '子流程（折叠）', 'Sub-process (expanded)': '子流程（展开）', 'Start event': '开始事件',
  'End event': '结束事件', 'Exclusive gateway': '排他网关', 'Parallel gateway': '并行网关', 'Inclusive gateway': '包容网关',
  'Event-based gateway': '事件网关', 'Timer boundary event': '定时边界事件', 'Message boundary event': '消息边界事件',
  'Timer intermediate catch event': '定时中间事件', 'Message intermediate catch event': '消息中间事件',
  'Sequence flow': '顺序流', 'Default flow': '默认路线', 'Conditional flow': '条件路线', 'Message': '消息',
  'Global message reference': '消息', 'Create new ...': '新建…', '<none>': '（无）', 'Parallel multi instance': '并行多实例',
  'Sequential multi instance': '串行多实例', 'Loop': '循环', 'Search in diagram': '在图中查找',
  'Decision table': '决策表', 'Input': '输入', 'Output': '输出', 'Annotation': '备注', 'Hit policy:': '命中策略：',
  'Add rule': '添加规则', 'Add input': '添加输入', 'Add output': '添加输出', 'Input label': '输入标签',
  'Input expression': '输入表达式', 'Output label': '输出标签', 'Output name': '输出名称', 'Type': '类型',
  'View DRD': '查看决策关系图', 'Open decision table': '打开决策表',
  When: '当', And: '且', Then: '则', 'Hit policy': '命中策略', Unique: '唯一（Unique）', First: '首条（First）',
  Priority: '优先级（Priority）', Any: '任一（Any）', Collect: '全部收集（Collect）', 'Collect (Sum)': '收集求和',
  'Collect (Min)': '收集取最小', 'Collect (Max)': '收集取最大', 'Collect (Count)': '收集计数',
  'Rule order': '按规则顺序', 'Output order': '按输出顺序', 'Add rule above': '在上方添加规则',
  'Add rule below': '在下方添加规则', 'Remove rule': '删除规则', 'Copy rule': '复制规则', 'Cut rule': '剪切规则',
  'Paste rule above': '粘贴到上方', 'Paste rule below': '粘贴到下方', 'Add input column left': '在左侧添加条件列',
  'Add input column right': '在右侧添加条件列', 'Remove input column': '删除条件列',
  'Add output column left': '在左侧添加结果列', 'Add output column right': '在右侧添加结果列',
  'Remove output column': '删除结果列', 'Add cell description': '添加单元格说明', 'Remove cell description': '删除单元格说明',
  'Edit string': '编辑文本', 'Edit number': '编辑数值', 'Edit boolean': '编辑是否', 'Edit input': '编辑条件列',
  'Edit output': '编辑结果列', 'Expression': '表达式', 'Expression language': '表达式语言', 'Input label: ': '列名：',
  'Output label: ': '列名：', 'Output name: ': '变量名：', 'Value': '值', 'Values': '取值', 'Yes': '是', 'No': '否',
  'Enter expression': '输入表达式', 'Annotations': '备注', 'Decision name': '决策名称', 'Comparison': '比较',
  'Range': '范围', 'Equals': '等于', 'Less': '小于', 'Greater': '大于', 'Match one': '匹配任一', 'Match none': '都不匹配',
  'Strings must be in double quotes': '文本须加英文双引号'
};

export default function chineseTranslate(template, replacements) {
  const text = WORDS[template] || template;
  return text.replace(/{([^}]+)}/g, (_, key) => (replacements && key in replacements ? replacements[key] : `{${key}}`));
}

export const translateModule = { translate: ['value', chineseTranslate] };
