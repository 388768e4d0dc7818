# The web console's own pages (server/console/app.js), beside the starter set of console.ftl.
# Every id starts with `page-`. Counts are written as "label: number", so no message needs a
# plural form; dates and amounts come formatted (2 Dec 2026, ¥1,234.50).

## The page shell and its frame

page-noscript = The fieldsync console needs JavaScript: turn it on for this site and reload the page.
page-skip-to-content = Skip to the content
page-menu = Main menu
page-live-on = Live
page-live-connecting = Connecting…
page-live-off = Not live: reconnecting
# $time is when the page last updated itself after news from the server.
page-updated-at = Updated at { $time }
page-error-team-only = This page is for managers and administrators: your account sees your own customers and weekly report.
page-error-refused = The server refused this: see why below
page-show = Show
page-yes = Yes
page-no = No
page-never = Never
page-edit = Edit
page-create = Create
page-actions = Actions
page-nothing-to-change = Nothing to change
# Between the items of a list in a sentence or a cell.
page-list-separator = {", "}
# A person met at a visit with their job title.
page-person-with-title = { $name } ({ $title })
page-list-hint = Several: separate them with commas
# A label and its value: "Next step: call back".
page-labelled = { $label }: { $value }

## The team's week

page-rep = Rep
page-week = Week
page-total = Total
page-previous-week = Previous week
page-next-week = Next week
# $week is YYYY-Www; $from and $to are its Monday and Sunday, formatted.
page-week-range = { $week }: { $from } to { $to }
page-week-overview = Visits per rep and day
# $count is a number of visits.
page-rep-visits = { $rep }: { $count } visits
page-no-visits-this-week = No visits this week
page-customer = Customer
page-visit-type = Type
page-people-met = People met

## Follow-ups

page-followups = Follow-ups
# $date is a formatted day.
page-followups-on = Due or overdue on { $date }
page-due-date = Due
page-reason = Why
page-days-overdue = Days overdue
page-reason-never_visited = Never visited
page-reason-explicit_date = Date set at the last visit
page-reason-cadence = Tier's visit cadence

## Approvals

page-approvals-none = Nothing waits for your decision
page-approvals-count = Waiting for your decision: { $count }
page-title = Title
page-dates = Dates
page-cities = Cities
page-budget = Budget
page-submitted = Submitted
page-items = Items
page-decision = Decision

## Customers

page-customer-type = Type
page-industry = Industry
page-address = Address
page-phone = Phone
page-email = Email
page-job-title = Job title
page-decision-maker = Decides purchases
page-key-account = Key account
page-created = Created
page-created-by = by { $user }, { $date }
page-notes = Notes
page-no-visits = No visits yet
page-comments = Manager comments
page-comment-by = { $user }: { $text }
page-conflicts = Conflicting edits
page-no-conflicts = No conflicting edits
page-field = Field
page-value = Value
page-written-by = Written by
page-device = Device
page-when = When
page-shown = Shown
page-move-customer = Move to another territory or rep
page-move = Move
page-customer-moved = { $name } was moved
page-customer-moved-away = { $name } was moved out of what you see
page-customer-status-prospect = Prospect
page-customer-status-active = Active
page-customer-status-dormant = Dormant
page-customer-status-lost = Lost
page-customer-type-end_customer = End customer
page-customer-type-distributor = Distributor
page-customer-type-direct_store = Direct store

## Visits

page-visit-type-cold_visit = Cold visit
page-visit-type-follow_up = Follow-up
page-visit-type-sample = Samples
page-visit-type-quote = Quote
page-visit-type-complaint = Complaint
page-visit-type-after_sales = After-sales
page-outcome-order = Order
page-outcome-progress = Progress
page-outcome-no_change = No change
page-outcome-setback = Setback
page-outcome-none = No outcome
page-next-step = Next step
page-quote = Quoted
page-order = Ordered

## A rep's weekly report

# $rep is a user name, $week YYYY-Www, $from and $to formatted days.
page-report-of = { $rep }, { $week }: { $from } to { $to }
page-visit-count = Visits
page-customers-visited = Customers visited
page-by-type = Visits by type
page-by-outcome = Visits by outcome

## Administration

page-create-user = New user
page-password-hint = 8 characters or more
page-new-password = New password
page-reset-password = Reset password
page-user-created = User { $user } created
page-user-saved = { $user } saved
page-user-enabled = { $user } enabled
page-user-disabled = { $user } disabled
page-password-reset = The password of { $user } was reset
page-create-territory = New territory
page-territory-name = Territory
page-new-name = New name
page-rename = Rename
page-territory-created = Territory { $name } created
# $count is the number of customers the renaming moved.
page-territory-renamed = { $from } is now { $to }; customers moved: { $count }
page-version = Version
page-uptime = Running for
# How long the server has run.
page-duration = { $days } d { $hours } h { $minutes } min
page-documents = Documents
page-log-entries = Log entries
page-log-size = Log size
page-disabled-users = Disabled users
page-devices-last-day = Devices in the last 24 hours
page-last-compaction = Last log compaction
page-compaction-by = { $date }, by { $user }
page-audit-intro = Every change an administrator made, newest first (the latest 500).
page-target = Target
page-detail = Detail
page-source = From
page-audit-user-create = User created
page-audit-user-update = User changed
page-audit-territory-create = Territory created
page-audit-territory-rename = Territory renamed
page-audit-log-compact = Log compacted

# The KPI page (docs/KPI.md).
page-kpi-team = My team
page-kpi-mine = My own
page-kpi-period = Period
page-kpi-period-hint = a month (2026-11) or a quarter (2026-Q4)
page-kpi-whose = Whose
page-kpi-of = { $period }: { $from } to { $to }
page-kpi-sales = Sales
page-kpi-sales-target = Sales target
page-kpi-achievement = Against target
page-kpi-growth = Growth on the period before
page-kpi-visits = Visits (done / target)
page-kpi-new-customers = New customers (done / target)
page-kpi-followup-compliance = Follow-ups on time
page-kpi-customers-overdue = Customers overdue for a follow-up
page-kpi-complaints-in-time = Complaints handled in time
page-kpi-complaints-open = Complaints open
page-kpi-trip-expenses = Trip expenses
page-kpi-gross-profit = Gross profit
page-kpi-by-rep = Each rep
