# 网页控制台自己的页面（server/console/app.js）。数量写成“标签：数字”，不需要复数形式。

## 页面框架

page-noscript = fieldsync 控制台需要 JavaScript：请为本网站启用后刷新页面。
page-skip-to-content = 跳到正文
page-menu = 主菜单
page-live-on = 实时更新中
page-live-connecting = 正在连接…
page-live-off = 实时更新已断开：正在重新连接
page-updated-at = 更新于 { $time }
page-error-team-only = 此页面仅供经理和管理员使用：你的账号只能查看自己的客户和周报。
page-error-refused = 服务器拒绝了此操作：原因见下方
page-show = 显示
page-yes = 是
page-no = 否
page-never = 从未
page-edit = 编辑
page-create = 创建
page-actions = 操作
page-nothing-to-change = 没有需要修改的内容
page-list-separator = 、
page-person-with-title = { $name }（{ $title }）
page-list-hint = 多个时用逗号分隔
page-labelled = { $label }：{ $value }

## 团队本周

page-rep = 销售代表
page-week = 周
page-total = 合计
page-previous-week = 上一周
page-next-week = 下一周
page-week-range = { $week }：{ $from } 至 { $to }
page-week-overview = 每位销售代表每天的拜访次数
page-rep-visits = { $rep }：{ $count } 次拜访
page-no-visits-this-week = 本周没有拜访
page-customer = 客户
page-visit-type = 类型
page-people-met = 会见人员

## 跟进

page-followups = 跟进
page-followups-on = { $date } 到期或逾期
page-due-date = 到期日
page-reason = 原因
page-days-overdue = 逾期天数
page-reason-never_visited = 从未拜访
page-reason-explicit_date = 上次拜访约定的日期
page-reason-cadence = 按客户等级的拜访周期

## 审批

page-approvals-none = 没有等待你决定的事项
page-approvals-count = 等待你决定：{ $count } 项
page-title = 标题
page-dates = 日期
page-cities = 城市
page-budget = 预算
page-submitted = 提交时间
page-items = 明细数
page-decision = 决定

## 客户

page-customer-type = 类型
page-industry = 行业
page-address = 地址
page-phone = 电话
page-email = 邮箱
page-job-title = 职务
page-decision-maker = 采购决策人
page-key-account = 重点客户
page-created = 建档
page-created-by = { $user }，{ $date }
page-notes = 备注
page-no-visits = 尚无拜访记录
page-comments = 经理批注
page-comment-by = { $user }：{ $text }
page-conflicts = 冲突的修改
page-no-conflicts = 没有冲突的修改
page-field = 字段
page-value = 值
page-written-by = 修改人
page-device = 设备
page-when = 时间
page-shown = 当前显示
page-move-customer = 转到其他片区或销售代表
page-move = 转移
page-customer-moved = 已转移 { $name }
page-customer-moved-away = 已将 { $name } 转出你的查看范围
page-customer-status-prospect = 潜在客户
page-customer-status-active = 活跃
page-customer-status-dormant = 休眠
page-customer-status-lost = 已流失
page-customer-type-end_customer = 终端客户
page-customer-type-distributor = 经销商
page-customer-type-direct_store = 直营店

## 拜访

page-visit-type-cold_visit = 陌生拜访
page-visit-type-follow_up = 跟进拜访
page-visit-type-sample = 送样
page-visit-type-quote = 报价
page-visit-type-complaint = 处理投诉
page-visit-type-after_sales = 售后服务
page-outcome-order = 成交
page-outcome-progress = 有进展
page-outcome-no_change = 无变化
page-outcome-setback = 受挫
page-outcome-none = 无结果
page-next-step = 下一步
page-quote = 报价金额
page-order = 订单金额

## 销售代表周报

page-report-of = { $rep }，{ $week }：{ $from } 至 { $to }
page-visit-count = 拜访次数
page-customers-visited = 拜访的客户
page-by-type = 按类型统计拜访
page-by-outcome = 按结果统计拜访

## 管理

page-create-user = 新建用户
page-password-hint = 至少 8 个字符
page-new-password = 新密码
page-reset-password = 重置密码
page-user-created = 已创建用户 { $user }
page-user-saved = 已保存 { $user }
page-user-enabled = 已启用 { $user }
page-user-disabled = 已停用 { $user }
page-password-reset = 已重置 { $user } 的密码
page-create-territory = 新建片区
page-territory-name = 片区
page-new-name = 新名称
page-rename = 重命名
page-territory-created = 已创建片区 { $name }
page-territory-renamed = { $from } 已改名为 { $to }；转移客户：{ $count } 个
page-version = 版本
page-uptime = 已运行
page-duration = { $days } 天 { $hours } 小时 { $minutes } 分钟
page-documents = 文档数
page-log-entries = 日志条目
page-log-size = 日志大小
page-disabled-users = 已停用的用户
page-devices-last-day = 过去 24 小时的设备
page-last-compaction = 上次日志压缩
page-compaction-by = { $date }，由 { $user } 执行
page-audit-intro = 管理员做过的每项修改，最新的在前（最近 500 条）。
page-target = 对象
page-detail = 详情
page-source = 来源
page-audit-user-create = 创建用户
page-audit-user-update = 修改用户
page-audit-territory-create = 创建片区
page-audit-territory-rename = 重命名片区
page-audit-log-compact = 压缩日志

# 绩效指标页（docs/KPI.md）。
page-kpi-team = 我的团队
page-kpi-mine = 我自己
page-kpi-period = 期间
page-kpi-period-hint = 月份（2026-11）或季度（2026-Q4）
page-kpi-whose = 范围
page-kpi-of = { $period }：{ $from } 至 { $to }
page-kpi-sales = 销售额
page-kpi-sales-target = 销售目标
page-kpi-achievement = 目标达成率
page-kpi-growth = 环比增长
page-kpi-visits = 拜访（完成 / 目标）
page-kpi-new-customers = 新客户（完成 / 目标）
page-kpi-followup-compliance = 按时跟进率
page-kpi-customers-overdue = 跟进逾期的客户
page-kpi-complaints-in-time = 投诉按时处理率
page-kpi-complaints-open = 未结投诉
page-kpi-trip-expenses = 差旅费用
page-kpi-gross-profit = 毛利
page-kpi-by-rep = 各销售代表
