# 全产品共用的词：角色、文档类型、状态。

## 角色

role-rep = 销售代表
role-manager = 销售经理
role-admin = 管理员

## 文档类型

kind-customer = 客户
kind-visit = 拜访记录
kind-trip_plan = 出差计划
kind-expense_claim = 报销单
kind-order = 订单
kind-complaint = 投诉
kind-target = 目标

## 出差计划、报销单、订单和投诉的状态

status-draft = 草稿
status-submitted = 已提交
status-approved = 已批准
status-rejected = 已驳回
status-paid = 已付款
status-confirmed = 已确认
status-shipped = 已发货
status-cancelled = 已取消
status-received = 已受理
status-investigating = 调查中
status-handled = 已处理
status-followed_up = 已回访
status-closed = 已关闭
