# 服务器提供的网页控制台：各页面的初始标签。

## 所有页面

console-app-title = fieldsync 控制台
console-log-in = 登录
console-log-out = 退出登录
console-username = 用户名
console-password = 密码
console-logged-in-as = 当前用户：{ $username }（{ $role }）
console-language = 语言
console-language-en = English
console-language-zh-CN = 简体中文
console-search = 搜索
console-search-placeholder = 名称、联系人、地址或备注
console-save = 保存
console-cancel = 取消
console-back = 返回
console-loading = 正在加载…
console-no-results = 没有符合条件的结果
console-shown-of = 共 { $total } 条，显示 { $shown } 条
console-previous-page = 上一页
console-next-page = 下一页

## 团队本周与待办

console-team-week = 团队本周
console-followups-due = 到期跟进
console-followups-overdue = 逾期跟进
console-days-overdue = 逾期 { $days } 天
console-approvals = 待审批
console-approvals-waiting = { $count ->
    [0] 没有等待你审批的事项
   *[other] { $count } 项等待你审批
}
console-approve = 批准
console-reject = 驳回
console-decision-note = 给销售代表的备注
console-approved-by = 由 { $user } 批准
console-rejected-by = 由 { $user } 驳回

## 客户、拜访、报表

console-customers = 客户
console-customer-file = 客户档案
console-customer-name = 名称
console-customer-tier = 等级
console-customer-owner = 负责人
console-customer-territory = 片区
console-customer-city = 城市
console-customer-last-visit = 上次拜访
console-customer-next-followup = 下次跟进
console-contacts = 联系人
console-visits = 拜访记录
console-visit-summary = 洽谈内容
console-visit-outcome = 结果
console-weekly-report = 周报
console-kpis = 绩效指标
console-sales = 销售额
console-target = 目标
console-achieved = 完成率
console-gross-profit = 毛利
console-trip-plans = 出差计划
console-expense-claims = 报销单
console-orders = 订单
console-complaints = 投诉
console-amount = 金额
console-date = 日期
console-status = 状态

## 管理

console-users = 用户
console-territories = 片区
console-role = 角色
console-manager = 上级经理
console-enabled = 已启用
console-disabled = 已停用
console-enable = 启用
console-disable = 停用
console-health = 运行状况
console-health-ok = 一切正常
console-health-degraded = 有问题需要处理
console-audit-log = 审计日志
console-audit-when = 时间
console-audit-who = 操作人
console-audit-what = 操作

## 控制台自己的错误

console-error-login-failed = 用户名或密码错误
console-error-session-expired = 登录已过期：请重新登录
console-error-forbidden = 你无权查看此页面
console-error-not-found = 页面不存在
console-error-server = 服务器出错：请稍后再试
console-error-network = 无法连接服务器：请检查网络
console-error-required = { $field } 为必填项
