/* Chinese for the bpmn-js and dmn-js editors, and role names on lanes.
 *
 * window.cadreflowEditors.translateModule: a diagram-js `translate` service that looks texts up
 * in ZH (texts missing from it stay English, placeholders such as {element} are filled);
 * pages in English leave it out. window.cadreflowEditors.laneModule(roles, withKey): draws
 * a lane whose name is a role key (DOMAIN.md §1) with the role's Chinese name — "纪检监察机关"
 * on a case's diagram, "纪检监察机关（discipline）" in the modeler — while the stored name
 * stays the key the engine uses. window.cadreflowEditors.codedCells(container, labels): shows
 * the coded values of a decision table ("exempt") as their Chinese labels (display only). */
(function () {
  "use strict";

  var ZH = {
    // palette and tools (bpmn-js, dmn-js)
    "Activate hand tool": "手形工具（拖动画布）",
    "Activate lasso tool": "套索工具（框选）",
    "Activate create/remove space tool": "增删空白工具",
    "Activate global connect tool": "连线工具",
    "Create start event": "开始事件",
    "Create intermediate/boundary event": "中间/边界事件",
    "Create end event": "结束事件",
    "Create gateway": "网关",
    "Create task": "任务",
    "Create expanded sub-process": "展开的子流程",
    "Create data object reference": "数据对象",
    "Create data store reference": "数据存储",
    "Create group": "分组",
    "Create pool/participant": "池/参与者",
    "Search in diagram": "在图中查找",
    // context pad
    "Append end event": "追加结束事件",
    "Append gateway": "追加网关",
    "Append task": "追加任务",
    "Append intermediate/boundary event": "追加中间/边界事件",
    "Append compensation activity": "追加补偿活动",
    "Append conditional intermediate catch event": "追加条件中间捕获事件",
    "Append message intermediate catch event": "追加消息中间捕获事件",
    "Append receive task": "追加接收任务",
    "Append signal intermediate catch event": "追加信号中间捕获事件",
    "Append timer intermediate catch event": "追加定时中间捕获事件",
    "Add text annotation": "添加文字注释",
    "Add lane above": "在上方添加泳道",
    "Add lane below": "在下方添加泳道",
    "Divide into two lanes": "分成两条泳道",
    "Divide into three lanes": "分成三条泳道",
    "Change element": "更改元素类型",
    "Connect to other element": "连接到其他元素",
    "Connect using association": "用关联连接",
    "Connect using data input association": "用数据输入关联连接",
    "Delete": "删除",
    "Align elements": "对齐元素",
    "Align elements left": "左对齐",
    "Align elements right": "右对齐",
    "Align elements center": "水平居中对齐",
    "Align elements top": "顶端对齐",
    "Align elements bottom": "底端对齐",
    "Align elements middle": "垂直居中对齐",
    "Distribute elements horizontally": "水平等距分布",
    "Distribute elements vertically": "垂直等距分布",
    "Open {element}": "打开 {element}",
    // popup menu (change element)
    "Loop": "循环",
    "Parallel multi-instance": "并行多实例",
    "Sequential multi-instance": "串行多实例",
    "Collection": "集合",
    "Participant multiplicity": "参与者多重性",
    "Toggle non-interrupting": "切换为非中断",
    "Task": "任务",
    "User task": "用户任务",
    "Service task": "服务任务",
    "Script task": "脚本任务",
    "Business rule task": "业务规则任务",
    "Manual task": "手工任务",
    "Send task": "发送任务",
    "Receive task": "接收任务",
    "Call activity": "调用活动",
    "Sub-process": "子流程",
    "Sub-process (collapsed)": "子流程（折叠）",
    "Sub-process (expanded)": "子流程（展开）",
    "Ad-hoc sub-process": "自由子流程",
    "Ad-hoc sub-process (collapsed)": "自由子流程（折叠）",
    "Ad-hoc sub-process (expanded)": "自由子流程（展开）",
    "Event sub-process": "事件子流程",
    "Transaction": "事务",
    "Start event": "开始事件",
    "End event": "结束事件",
    "Intermediate throw event": "中间抛出事件",
    "Boundary event": "边界事件",
    "Message start event": "消息开始事件",
    "Timer start event": "定时开始事件",
    "Conditional start event": "条件开始事件",
    "Signal start event": "信号开始事件",
    "Error start event": "错误开始事件",
    "Escalation start event": "升级开始事件",
    "Compensation start event": "补偿开始事件",
    "Message start event (non-interrupting)": "消息开始事件（非中断）",
    "Timer start event (non-interrupting)": "定时开始事件（非中断）",
    "Conditional start event (non-interrupting)": "条件开始事件（非中断）",
    "Signal start event (non-interrupting)": "信号开始事件（非中断）",
    "Escalation start event (non-interrupting)": "升级开始事件（非中断）",
    "Message intermediate catch event": "消息中间捕获事件",
    "Message intermediate throw event": "消息中间抛出事件",
    "Timer intermediate catch event": "定时中间捕获事件",
    "Escalation intermediate throw event": "升级中间抛出事件",
    "Conditional intermediate catch event": "条件中间捕获事件",
    "Link intermediate catch event": "链接中间捕获事件",
    "Link intermediate throw event": "链接中间抛出事件",
    "Compensation intermediate throw event": "补偿中间抛出事件",
    "Signal intermediate catch event": "信号中间捕获事件",
    "Signal intermediate throw event": "信号中间抛出事件",
    "Message end event": "消息结束事件",
    "Escalation end event": "升级结束事件",
    "Error end event": "错误结束事件",
    "Cancel end event": "取消结束事件",
    "Compensation end event": "补偿结束事件",
    "Signal end event": "信号结束事件",
    "Terminate end event": "终止结束事件",
    "Message boundary event": "消息边界事件",
    "Timer boundary event": "定时边界事件",
    "Escalation boundary event": "升级边界事件",
    "Conditional boundary event": "条件边界事件",
    "Error boundary event": "错误边界事件",
    "Cancel boundary event": "取消边界事件",
    "Signal boundary event": "信号边界事件",
    "Compensation boundary event": "补偿边界事件",
    "Message boundary event (non-interrupting)": "消息边界事件（非中断）",
    "Timer boundary event (non-interrupting)": "定时边界事件（非中断）",
    "Escalation boundary event (non-interrupting)": "升级边界事件（非中断）",
    "Conditional boundary event (non-interrupting)": "条件边界事件（非中断）",
    "Signal boundary event (non-interrupting)": "信号边界事件（非中断）",
    "Exclusive gateway": "排他网关",
    "Parallel gateway": "并行网关",
    "Inclusive gateway": "包容网关",
    "Complex gateway": "复杂网关",
    "Event-based gateway": "事件网关",
    "Event based instantiating Gateway": "事件实例化网关",
    "Parallel Event based instantiating Gateway": "并行事件实例化网关",
    "Sequence flow": "顺序流",
    "Default flow": "默认流",
    "Conditional flow": "条件流",
    "Expanded pool/participant": "展开的池/参与者",
    "Empty pool/participant": "空的池/参与者",
    "Data object reference": "数据对象",
    "Data store reference": "数据存储",
    // BPMN: the properties panel (bpmn-js-properties-panel; cadreflow's own fields are
    // Chinese already) — its groups, fields and the element types in its header
    "General": "基本信息",
    "Name": "名称",
    "ID": "ID",
    "Documentation": "说明",
    "Element documentation": "说明（引用的制度条款）",
    "Process documentation": "流程说明",
    "Executable": "可执行",
    "Version tag": "版本标记",
    "Process ID": "流程 ID",
    "Process name": "流程名称",
    "Participant": "参与者",
    "Process": "流程",
    "Lane": "泳道",
    "User Task": "人工任务",
    "Script Task": "脚本任务",
    "Service Task": "服务任务",
    "Business Rule Task": "业务规则任务",
    "Manual Task": "手工任务",
    "Call Activity": "调用活动",
    "Sequence Flow": "顺序流",
    "Default Flow": "默认流",
    "Conditional Flow": "条件流",
    "Exclusive Gateway": "排他网关",
    "Parallel Gateway": "并行网关",
    "Inclusive Gateway": "包容网关",
    "Event Based Gateway": "事件网关",
    "Start Event": "开始事件",
    "End Event": "结束事件",
    "Timer Start Event": "定时开始事件",
    "Timer Intermediate Catch Event": "定时中间捕获事件",
    "Timer Boundary Event": "定时边界事件",
    "Timer Boundary Event (Non Interrupting)": "定时边界事件（非中断）",
    "Message Intermediate Catch Event": "消息中间捕获事件",
    "Message Start Event": "消息开始事件",
    "Terminate End Event": "终止结束事件",
    "Text Annotation": "文字注释",
    "Collapsed Sub Process": "折叠子流程",
    "Expanded Sub Process": "展开子流程",
    "Event Sub Process": "事件子流程",
    // DMN: the DRD
    "Create decision": "决策",
    "Create input data": "输入数据",
    "Create knowledge model": "业务知识模型",
    "Create knowledge source": "知识来源",
    "Append decision": "追加决策",
    "Append input data": "追加输入数据",
    "Append business knowledge model": "追加业务知识模型",
    "Append knowledge source": "追加知识来源",
    "Decision table": "决策表",
    "Literal expression": "文字表达式",
    "Literal Expression": "文字表达式",
    "Empty": "空",
    // DMN: the decision table
    "View DRD": "查看决策需求图",
    "Hit policy": "命中策略",
    "Hit policy:": "命中策略：",
    "Unique": "唯一（Unique）",
    "First": "首条命中（First）",
    "Priority": "优先级（Priority）",
    "Any": "任意（Any）",
    "Collect": "汇总（Collect）",
    "Collect (Sum)": "汇总求和（Collect Sum）",
    "Collect (Min)": "汇总最小值（Collect Min）",
    "Collect (Max)": "汇总最大值（Collect Max）",
    "Collect (Count)": "汇总计数（Collect Count）",
    "Rule order": "规则顺序（Rule order）",
    "Output order": "输出顺序（Output order）",
    "When": "当",
    "And": "且",
    "Then": "则",
    "Annotation": "注释",
    "Annotations": "注释",
    "Input": "输入",
    "Output": "输出",
    "Add input": "添加输入",
    "Add output": "添加输出",
    "Add rule": "添加规则",
    "Add rule above": "在上方添加规则",
    "Add rule below": "在下方添加规则",
    "Remove rule": "删除规则",
    "Copy rule": "复制规则",
    "Cut rule": "剪切规则",
    "Paste rule above": "在上方粘贴规则",
    "Paste rule below": "在下方粘贴规则",
    "Move rule": "移动规则",
    "Add input column left": "在左侧添加输入列",
    "Add input column right": "在右侧添加输入列",
    "Add output column left": "在左侧添加输出列",
    "Add output column right": "在右侧添加输出列",
    "Remove input column": "删除输入列",
    "Remove output column": "删除输出列",
    "Copy input column": "复制输入列",
    "Copy output column": "复制输出列",
    "Cut input column": "剪切输入列",
    "Cut output column": "剪切输出列",
    "Paste input column left": "在左侧粘贴输入列",
    "Paste input column right": "在右侧粘贴输入列",
    "Paste output column left": "在左侧粘贴输出列",
    "Paste output column right": "在右侧粘贴输出列",
    "Add cell description": "添加单元格说明",
    "Remove cell description": "删除单元格说明",
    "Input label": "输入标签",
    "Input label: ": "输入标签：",
    "Input expression": "输入表达式",
    "Input expression: ": "输入表达式：",
    "Input type": "输入类型",
    "Input values": "输入取值",
    "Output label": "输出标签",
    "Output label: ": "输出标签：",
    "Output name": "输出名称",
    "Output name: ": "输出名称：",
    "Output type": "输出类型",
    "Output values": "输出取值",
    "Expression": "表达式",
    "Expression language": "表达式语言",
    "Expression language:": "表达式语言：",
    "Expression language: {expressionLanguageLabel}": "表达式语言：{expressionLanguageLabel}",
    "Change cell expression language": "更改单元格表达式语言",
    "Editing not supported for set expression language": "不支持编辑所设表达式语言的单元格",
    "Enter expression": "输入表达式",
    "Type": "类型",
    "Change type": "更改类型",
    "Test type": "比较方式",
    "Value": "值",
    "Values": "取值",
    "Set value": "设置值",
    "No values": "无取值",
    "Add values": "添加取值",
    "Add predefined values": "添加预设取值",
    "Clear predefined values": "清除预设取值",
    "Predefined values": "预设取值",
    "Custom values": "自定义取值",
    "Strings must be in double quotes": "字符串须加英文双引号",
    "Match one": "匹配其一",
    "Match none": "均不匹配",
    "String value": "字符串值",
    "Boolean value": "布尔值",
    "Edit string": "编辑字符串",
    "Edit boolean": "编辑布尔值",
    "Edit number": "编辑数字",
    "Edit date": "编辑日期",
    "Edit time": "编辑时间",
    "Edit date and time": "编辑日期时间",
    "Edit duration": "编辑时长",
    "Comparison": "比较",
    "Comparison operator": "比较运算符",
    "Range": "范围",
    "Range start operator": "范围起始运算符",
    "Range start value": "范围起始值",
    "Range end operator": "范围结束运算符",
    "Range end value": "范围结束值",
    "Equals": "等于",
    "Less": "小于",
    "Less or equals": "小于等于",
    "Greater": "大于",
    "Greater or equals": "大于等于",
    "Include": "包含",
    "Exclude": "不包含",
    "Exactly": "恰好",
    "Before": "早于",
    "After": "晚于",
    "Between": "介于",
    "Yes": "是",
    "No": "否",
    "Date": "日期",
    "Time": "时间",
    "Date and time": "日期时间",
    "Decision name": "决策名称",
    "Decision name: ": "决策名称：",
    "Definition ID": "定义编号",
    "Definition name": "定义名称",
    "Element name": "元素名称",
    "Variable name": "变量名",
    "Variable name:": "变量名：",
    "Variable type": "变量类型",
    "Variable type:": "变量类型：",
    "Literal expression editor": "文字表达式编辑器",
    "Edit": "编辑",
    "Resize": "调整大小"
  };

  function translate(template, replacements) {
    var text = Object.prototype.hasOwnProperty.call(ZH, template) ? ZH[template] : template;
    replacements = replacements || {};
    return text.replace(/{([^}]+)}/g, function (all, name) {
      return Object.prototype.hasOwnProperty.call(replacements, name) ? replacements[name] : "{" + name + "}";
    });
  }

  /* The Chinese a lane is drawn with: the role's name (and its key where withKey). */
  function laneLabel(roles, name, withKey) {
    var role = name && Object.prototype.hasOwnProperty.call(roles, name.trim()) ? roles[name.trim()] : null;
    if (!role) { return null; }
    return withKey ? role + "（" + name.trim() + "）" : role;
  }

  /* A module drawing lanes named by a role key with the role's name. It renders before the
   * default renderer (higher priority) and hands it a stand-in whose name is the label; the
   * element and its stored name are untouched. */
  function laneModule(roles, withKey) {
    function LaneLabels(eventBus, bpmnRenderer) {
      eventBus.on("render.shape", 1500, function (event) {
        var element = event.element;
        var bo = element && element.businessObject;
        if (!bo || !bo.$instanceOf || !bo.$instanceOf("bpmn:Lane")) { return; }
        var label = laneLabel(roles, bo.name, withKey);
        if (!label) { return; }
        var shown = Object.create(bo, { name: { value: label } });
        var standIn = Object.create(element, { businessObject: { value: shown } });
        var visual = bpmnRenderer.drawShape(event.gfx, standIn, event.attrs);
        var title = document.createElementNS("http://www.w3.org/2000/svg", "title");
        title.textContent = label + (withKey ? "" : "（" + bo.name.trim() + "）");
        event.gfx.appendChild(title);
        return visual;
      });
    }
    LaneLabels.$inject = ["eventBus", "bpmnRenderer"];
    return { __init__: ["cadreflowLaneLabels"], cadreflowLaneLabels: ["type", LaneLabels] };
  }

  /* Decision-table cells whose whole text is a coded string ("exempt") get data-cf-label with
   * its Chinese label, from lookup(cell, code) (null: none); the style sheet shows the label
   * instead of the code until the cell is edited. Cells re-render on every edit, so a
   * MutationObserver keeps the attributes. The stored table keeps the codes. */
  function codedCells(container, lookup) {
    function apply() {
      var cells = container.querySelectorAll("td.input-cell, td.output-cell");
      Array.prototype.forEach.call(cells, function (cell) {
        var code = /^"([^"]*)"$/.exec((cell.textContent || "").trim());
        var label = code ? lookup(cell, code[1]) : null;
        if (label) {
          if (cell.getAttribute("data-cf-label") !== label) {
            cell.setAttribute("data-cf-label", label);
            cell.setAttribute("title", label + "（" + code[1] + "）");
          }
        } else if (cell.hasAttribute("data-cf-label")) {
          cell.removeAttribute("data-cf-label");
          cell.removeAttribute("title");
        }
      });
    }
    var pending = false;
    new MutationObserver(function () {
      if (pending) { return; }
      pending = true;
      requestAnimationFrame(function () { pending = false; apply(); });
    }).observe(container, { childList: true, subtree: true, characterData: true });
    apply();
    return apply;
  }

  window.cadreflowEditors = {
    ZH: ZH,
    translate: translate,
    translateModule: { translate: ["value", translate] },
    laneLabel: laneLabel,
    laneModule: laneModule,
    codedCells: codedCells
  };
}());
