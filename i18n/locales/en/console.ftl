# The web console the server serves: a starter set of labels for its pages. Roles, kinds
# and statuses are in common.ftl, the error codes of the API in errors.ftl.

## Every page

console-app-title = fieldsync console
console-log-in = Log in
console-log-out = Log out
console-username = User name
console-password = Password
# $username is who is logged in; $role their role, already translated (common.ftl).
console-logged-in-as = Logged in as { $username } ({ $role })
console-language = Language
# The name of each language in itself, for the language switch.
console-language-en = English
console-language-zh-CN = 简体中文
console-search = Search
console-search-placeholder = Name, contact, address or notes
console-save = Save
console-cancel = Cancel
console-back = Back
console-loading = Loading…
console-no-results = Nothing matches
# A list shows only part of what matches.
console-shown-of = { $shown } of { $total } shown
console-previous-page = Previous page
console-next-page = Next page

## The team's week and what waits

console-team-week = Team week
console-followups-due = Follow-ups due
console-followups-overdue = Follow-ups overdue
# $days is how many days a follow-up is overdue.
console-days-overdue = { $days ->
    [one] { $days } day overdue
   *[other] { $days } days overdue
}
console-approvals = Approvals
console-approvals-waiting = { $count ->
    [0] Nothing waits for your approval
    [one] { $count } waits for your approval
   *[other] { $count } wait for your approval
}
console-approve = Approve
console-reject = Reject
console-decision-note = Note for the rep
console-approved-by = Approved by { $user }
console-rejected-by = Rejected by { $user }

## Customers, visits, reports

console-customers = Customers
console-customer-file = Customer file
console-customer-name = Name
console-customer-tier = Tier
console-customer-owner = Owner
console-customer-territory = Territory
console-customer-city = City
console-customer-last-visit = Last visit
console-customer-next-followup = Next follow-up
console-contacts = Contacts
console-visits = Visits
console-visit-summary = What was discussed
console-visit-outcome = Outcome
console-weekly-report = Weekly report
console-kpis = KPIs
console-sales = Sales
console-target = Target
console-achieved = Achieved
console-gross-profit = Gross profit
console-trip-plans = Trip plans
console-expense-claims = Expense claims
console-orders = Orders
console-complaints = Complaints
console-amount = Amount
console-date = Date
console-status = Status

## Administration

console-users = Users
console-territories = Territories
console-role = Role
console-manager = Manager
console-enabled = Enabled
console-disabled = Disabled
console-enable = Enable
console-disable = Disable
console-health = Health
console-health-ok = Everything works
console-health-degraded = Something needs attention
console-audit-log = Audit log
console-audit-when = When
console-audit-who = Who
console-audit-what = What

## Errors the console shows itself

console-error-login-failed = The user name or password is wrong
console-error-session-expired = Your session expired: log in again
console-error-forbidden = You are not allowed to see this page
console-error-not-found = This page does not exist
console-error-server = Something went wrong on the server: try again later
console-error-network = The server cannot be reached: check your connection
console-error-required = { $field } is required
