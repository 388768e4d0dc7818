//! The command line: every command, argument and option of `fieldsync` (clap derive).
//!
//! The help texts are these doc comments, which clap reads at build time: `--help` and clap's
//! usage errors are English in every language, while everything the commands print follows
//! the catalog (see `crate::i18n`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

mod sales;

pub use sales::{ComplaintAdd, ComplaintCmd, KpiArgs, OrderAdd, OrderCmd, OrderItem, TargetCmd};

/// fieldsync: record customer visits offline and sync them with your team.
#[derive(Debug, Parser)]
#[command(name = "fieldsync", version, about, propagate_version = true)]
pub struct Cli {
    /// The directory of this device's store (one directory per device).
    #[arg(long, global = true, env = "FIELDSYNC_HOME", value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// `--json`, shared by every command that prints data.
#[derive(Debug, Args, Clone, Copy)]
pub struct Json {
    /// Print one JSON document instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// The top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Log in to a fieldsync server; the session is kept in this device's store.
    Login {
        /// Server address, e.g. http://127.0.0.1:8080.
        #[arg(long)]
        server: String,
        /// Your user name.
        #[arg(long)]
        username: String,
        /// A name for this device, shown to the admin (default: the host name).
        #[arg(long)]
        device: Option<String>,
    },
    /// End the session on the server and forget it here (local data stays).
    Logout,
    /// Who is logged in, where, and what is waiting to be synced.
    Status(Json),
    /// Send local changes to the server and fetch everyone else's.
    Sync {
        /// Stay running: follow the server's news and sync when something changes, push local
        /// writes soon after they are made, print a line per round that moved something; stop
        /// with Ctrl-C.
        #[arg(long)]
        watch: bool,
        #[command(flatten)]
        json: Json,
    },
    /// Customer files.
    #[command(subcommand)]
    Customer(CustomerCmd),
    /// Contacts at a customer.
    #[command(subcommand)]
    Contact(ContactCmd),
    /// Visit records.
    #[command(subcommand)]
    Visit(VisitCmd),
    /// Photos, receipts and other attachments.
    #[command(subcommand)]
    Attachment(AttachmentCmd),
    /// Customers due or overdue for a follow-up.
    Followups {
        /// The day to check (YYYY-MM-DD; default today).
        #[arg(long)]
        date: Option<String>,
        /// Only this rep's customers.
        #[arg(long)]
        owner: Option<String>,
        #[command(flatten)]
        json: Json,
    },
    /// Fields holding concurrent values (of one document, or of all); `resolve` settles one.
    #[command(args_conflicts_with_subcommands = true)]
    Conflicts {
        /// Settle a conflict.
        #[command(subcommand)]
        resolve: Option<ConflictsCmd>,
        /// A document id.
        id: Option<String>,
        #[command(flatten)]
        json: Json,
    },
    /// Changes the server refused: list, read, resend, export or discard them.
    Quarantine(QuarantineArgs),
    /// Trip plans.
    #[command(subcommand)]
    Trip(TripCmd),
    /// Expense claims.
    #[command(subcommand)]
    Expense(ExpenseCmd),
    /// Hand every customer of one rep to another (manager or admin; needs the network).
    Handover {
        /// The rep giving up their customers.
        #[arg(long)]
        from: String,
        /// The rep taking them.
        #[arg(long)]
        to: String,
        #[command(flatten)]
        json: Json,
    },
    /// Orders: take them offline, submit them; managers confirm, ship and record payment.
    #[command(subcommand)]
    Order(OrderCmd),
    /// Customer complaints and their loop: received, investigating, handled, followed up,
    /// closed.
    #[command(subcommand)]
    Complaint(ComplaintCmd),
    /// Monthly targets of the reps: sales, visits, new customers.
    #[command(subcommand)]
    Target(TargetCmd),
    /// What is due now, side by side: follow-ups due by today, complaints past their
    /// first-response deadline, orders waiting more than 3 days for confirmation.
    Due(Json),
    /// Reports: the weekly trip report, the monthly or quarterly KPIs.
    #[command(subcommand)]
    Report(ReportCmd),
}

/// `fieldsync conflicts …`
#[derive(Debug, Subcommand)]
pub enum ConflictsCmd {
    /// Keep one of a field's concurrent values (by its number in `fieldsync conflicts ID`), or
    /// write another; every device then shows that one value.
    Resolve {
        /// Document id.
        id: String,
        /// The field, as `fieldsync conflicts` names it (e.g. `tier`, `contacts[<id>].phone`).
        field: String,
        /// The number of the value to keep (1, 2, … as listed).
        #[arg(long, required_unless_present = "value", conflicts_with = "value")]
        keep: Option<usize>,
        /// The value to write instead (JSON, or plain text).
        #[arg(long)]
        value: Option<String>,
    },
}

/// `fieldsync customer …`
#[derive(Debug, Subcommand)]
pub enum CustomerCmd {
    /// Create a customer file; prints its id.
    Add(CustomerAdd),
    /// List customers.
    List {
        /// Only this territory.
        #[arg(long)]
        territory: Option<String>,
        /// Only this tier (A, B, C, D).
        #[arg(long)]
        tier: Option<String>,
        /// Only this rep's customers.
        #[arg(long)]
        owner: Option<String>,
        /// Only this status (prospect, active, dormant, lost).
        #[arg(long)]
        status: Option<String>,
        /// Words to find in name, contacts, address or notes.
        #[arg(long)]
        search: Option<String>,
        /// At most this many rows.
        #[arg(long, default_value_t = 200)]
        limit: u32,
        /// Which page of `--limit` rows to show, from 1.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
        page: u32,
        #[command(flatten)]
        json: Json,
    },
    /// Show a customer file with its contacts and recent visits.
    Show {
        /// Customer id.
        id: String,
        #[command(flatten)]
        json: Json,
    },
    /// Set one field: name, type, industry, territory, owner, province, city, address, phone,
    /// tier, status, key_account, current_supplier, monthly_demand, current_price.
    Set {
        /// Customer id.
        id: String,
        /// Field name.
        field: String,
        /// New value ("" clears an optional field).
        value: String,
    },
    /// Append a paragraph to the notes.
    Note {
        /// Customer id.
        id: String,
        /// The text.
        text: String,
    },
}

/// `fieldsync customer add` options.
#[derive(Debug, Args)]
pub struct CustomerAdd {
    /// Company name.
    #[arg(long)]
    pub name: String,
    /// Territory (default: yours, if you have exactly one).
    #[arg(long)]
    pub territory: Option<String>,
    /// Owning rep (default: you).
    #[arg(long)]
    pub owner: Option<String>,
    /// A, B, C or D (default C).
    #[arg(long)]
    pub tier: Option<String>,
    /// end_customer, distributor or direct_store.
    #[arg(long = "type")]
    pub customer_type: Option<String>,
    /// Industry.
    #[arg(long)]
    pub industry: Option<String>,
    /// Province.
    #[arg(long)]
    pub province: Option<String>,
    /// City.
    #[arg(long)]
    pub city: Option<String>,
    /// Street address.
    #[arg(long)]
    pub address: Option<String>,
    /// Main phone.
    #[arg(long)]
    pub phone: Option<String>,
    /// Mark as key account.
    #[arg(long)]
    pub key_account: bool,
    /// First notes.
    #[arg(long, default_value = "")]
    pub notes: String,
}

/// `fieldsync contact …`
#[derive(Debug, Subcommand)]
pub enum ContactCmd {
    /// Add a contact to a customer.
    Add {
        /// Customer id.
        customer: String,
        /// Full name.
        #[arg(long)]
        name: String,
        /// Job title.
        #[arg(long)]
        title: Option<String>,
        /// Phone.
        #[arg(long)]
        phone: Option<String>,
        /// E-mail.
        #[arg(long)]
        email: Option<String>,
        /// This person decides purchases.
        #[arg(long)]
        decision_maker: bool,
    },
    /// List the contacts of a customer, with the ids `contact edit` takes.
    List {
        /// Customer id.
        customer: String,
        #[command(flatten)]
        json: Json,
    },
    /// Change a contact; a field left out stays as it is ("" clears an optional one).
    Edit(ContactEditArgs),
}

/// `fieldsync contact edit` options.
#[derive(Debug, Args)]
pub struct ContactEditArgs {
    /// Customer id.
    pub customer: String,
    /// Contact id (see `fieldsync contact list CUSTOMER`).
    pub contact: String,
    /// Full name.
    #[arg(long)]
    pub name: Option<String>,
    /// Job title.
    #[arg(long)]
    pub title: Option<String>,
    /// Phone.
    #[arg(long)]
    pub phone: Option<String>,
    /// E-mail.
    #[arg(long)]
    pub email: Option<String>,
    /// Whether this person decides purchases: yes or no.
    #[arg(long, value_name = "YES|NO")]
    pub decision_maker: Option<String>,
}

/// `fieldsync visit …`
#[derive(Debug, Subcommand)]
pub enum VisitCmd {
    /// Record a visit; prints its id.
    Add(VisitAdd),
    /// List visits.
    List {
        /// Only visits to this customer.
        #[arg(long)]
        customer: Option<String>,
        /// Only this rep's visits.
        #[arg(long)]
        author: Option<String>,
        /// From this local day (YYYY-MM-DD).
        #[arg(long)]
        from: Option<String>,
        /// To this local day (YYYY-MM-DD).
        #[arg(long)]
        to: Option<String>,
        #[command(flatten)]
        json: Json,
    },
    /// Show a visit record.
    Show {
        /// Visit id.
        id: String,
        #[command(flatten)]
        json: Json,
    },
    /// Change a visit record; a field left out stays as it is.
    Edit(VisitEditArgs),
    /// Comment on a visit (managers).
    Comment {
        /// Visit id.
        id: String,
        /// The comment.
        text: String,
    },
    /// Attach a photo (or a PDF) to a visit; prints the attachment id, its SHA-256. It
    /// uploads at the next sync.
    Attach {
        /// Visit id.
        id: String,
        /// The file.
        file: std::path::PathBuf,
        /// The photo proves the check-in (the shop front).
        #[arg(long)]
        check_in: bool,
    },
}

/// `fieldsync attachment …`
#[derive(Debug, Subcommand)]
pub enum AttachmentCmd {
    /// Save an attachment to a file, downloading it if it is not on this device.
    Get {
        /// The attachment id (its SHA-256).
        id: String,
        /// Where to save it (a folder keeps its file name).
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// List the attachments this device knows: attached here, fetched, or referenced.
    List {
        /// Only those waiting to upload.
        #[arg(long)]
        pending: bool,
        #[command(flatten)]
        json: Json,
    },
}

/// `fieldsync visit add` options.
#[derive(Debug, Args)]
pub struct VisitAdd {
    /// Customer id.
    #[arg(long)]
    pub customer: String,
    /// What was discussed.
    #[arg(long)]
    pub summary: String,
    /// cold_visit, follow_up, sample, quote, complaint, after_sales (default follow_up).
    #[arg(long = "type")]
    pub visit_type: Option<String>,
    /// A person met, as NAME:TITLE (repeat for several).
    #[arg(long)]
    pub met: Vec<String>,
    /// order, progress, no_change, setback.
    #[arg(long)]
    pub outcome: Option<String>,
    /// The agreed next step.
    #[arg(long)]
    pub next_step: Option<String>,
    /// Next follow-up date, YYYY-MM-DD.
    #[arg(long)]
    pub next_followup: Option<String>,
    /// A competitor learnt about, as NAME or NAME:NOTES (repeat for several).
    #[arg(long)]
    pub competitor: Vec<String>,
    /// Check-in latitude.
    #[arg(long, requires = "lon", allow_hyphen_values = true)]
    pub lat: Option<f64>,
    /// Check-in longitude.
    #[arg(long, requires = "lat", allow_hyphen_values = true)]
    pub lon: Option<f64>,
    /// Check-in time, RFC 3339 (default now).
    #[arg(long)]
    pub at: Option<String>,
}

/// `fieldsync visit edit` options.
#[derive(Debug, Args)]
pub struct VisitEditArgs {
    /// Visit id.
    pub id: String,
    /// Replace the summary with this text.
    #[arg(long, conflicts_with = "append_summary")]
    pub summary: Option<String>,
    /// Add a paragraph to the summary.
    #[arg(long)]
    pub append_summary: Option<String>,
    /// cold_visit, follow_up, sample, quote, complaint, after_sales.
    #[arg(long = "type")]
    pub visit_type: Option<String>,
    /// Add a person met, as NAME:TITLE (repeat for several).
    #[arg(long)]
    pub met: Vec<String>,
    /// Remove a person met, by name or entry id (repeat for several).
    #[arg(long)]
    pub unmet: Vec<String>,
    /// order, progress, no_change, setback ("" clears it).
    #[arg(long)]
    pub outcome: Option<String>,
    /// The agreed next step ("" clears it).
    #[arg(long)]
    pub next_step: Option<String>,
    /// Next follow-up date, YYYY-MM-DD ("" clears it).
    #[arg(long)]
    pub next_followup: Option<String>,
    /// Add a competitor learnt about, as NAME or NAME:NOTES (repeat for several).
    #[arg(long)]
    pub competitor: Vec<String>,
    /// Amount quoted in yuan, e.g. 12500 ("" clears it).
    #[arg(long, allow_hyphen_values = true)]
    pub quote: Option<String>,
    /// Amount ordered in yuan ("" clears it).
    #[arg(long, allow_hyphen_values = true)]
    pub order: Option<String>,
}

/// `fieldsync trip …`
#[derive(Debug, Subcommand)]
pub enum TripCmd {
    /// Start a trip plan (a draft); prints its id.
    Add {
        /// Title.
        #[arg(long)]
        title: String,
        /// First day, YYYY-MM-DD.
        #[arg(long)]
        start: String,
        /// Last day, YYYY-MM-DD.
        #[arg(long)]
        end: String,
        /// A city on the route (repeat for several).
        #[arg(long)]
        city: Vec<String>,
        /// Budget in yuan, e.g. 3000 or 2500.50.
        #[arg(long, default_value = "0", allow_hyphen_values = true)]
        budget: String,
        /// The approving manager (default: your manager).
        #[arg(long)]
        approver: Option<String>,
    },
    /// Send a draft to its approver.
    Submit {
        /// Trip plan id.
        id: String,
    },
    /// Approve a submitted plan (its approver).
    Approve(Decision),
    /// Send a submitted plan back (its approver).
    Reject(Decision),
    /// List trip plans.
    List(PlanFilter),
    /// Show a trip plan: its content, budget and every step it took (who, when, why).
    Show {
        /// Trip plan id.
        id: String,
        #[command(flatten)]
        json: Json,
    },
}

/// `fieldsync expense …`
#[derive(Debug, Subcommand)]
pub enum ExpenseCmd {
    /// Start an expense claim (a draft); prints its id.
    Add {
        /// Title.
        #[arg(long)]
        title: String,
        /// The trip plan it is for.
        #[arg(long)]
        trip: Option<String>,
        /// The approving manager (default: your manager).
        #[arg(long)]
        approver: Option<String>,
        /// Currency (default CNY).
        #[arg(long)]
        currency: Option<String>,
    },
    /// Add an expense item.
    Item {
        /// Expense claim id.
        id: String,
        /// Day, YYYY-MM-DD.
        #[arg(long)]
        date: String,
        /// transport, lodging, meals, entertainment, samples, other.
        #[arg(long)]
        category: String,
        /// Amount in yuan, e.g. 128.50.
        #[arg(long, allow_hyphen_values = true)]
        amount: String,
        /// What it was.
        #[arg(long)]
        description: Option<String>,
        /// A note on the invoice (its number, where the paper is).
        #[arg(long)]
        invoice: Option<String>,
        /// The receipt (发票) photo or PDF, attached to the item.
        #[arg(long)]
        receipt: Option<std::path::PathBuf>,
    },
    /// Send a draft to its approver.
    Submit {
        /// Expense claim id.
        id: String,
    },
    /// Remove an expense item (while the claim is a draft or rejected).
    ItemRemove {
        /// Expense claim id.
        id: String,
        /// The item's id (see `fieldsync expense show`).
        item: String,
    },
    /// Correct an item's amount (while the claim is a draft or rejected).
    ItemAmount {
        /// Expense claim id.
        id: String,
        /// The item's id (see `fieldsync expense show`).
        item: String,
        /// The new amount in yuan, e.g. 128.50.
        amount: String,
    },
    /// Approve a submitted claim (its approver).
    Approve(Decision),
    /// Send a submitted claim back (its approver).
    Reject(Decision),
    /// Record that an approved claim was paid (admins).
    Pay {
        /// Expense claim id.
        id: String,
    },
    /// List expense claims.
    List(PlanFilter),
    /// Show an expense claim: its items, total and every step it took (who, when, why).
    Show {
        /// Expense claim id.
        id: String,
        #[command(flatten)]
        json: Json,
    },
}

/// An approver's decision.
#[derive(Debug, Args)]
pub struct Decision {
    /// Document id.
    pub id: String,
    /// A note for the rep.
    #[arg(long)]
    pub note: Option<String>,
}

/// Filters of trip plan and expense claim lists.
#[derive(Debug, Args)]
pub struct PlanFilter {
    /// Only this rep's.
    #[arg(long)]
    pub owner: Option<String>,
    /// Only those this manager decides.
    #[arg(long)]
    pub approver: Option<String>,
    /// Only in this status.
    #[arg(long)]
    pub status: Option<String>,
    #[command(flatten)]
    pub json: Json,
}

/// `fieldsync report …`
#[derive(Debug, Subcommand)]
pub enum ReportCmd {
    /// The weekly trip report of a rep, from their visit records.
    Week {
        /// The rep (default: you).
        #[arg(long)]
        rep: Option<String>,
        /// The ISO week, YYYY-Www (default: this week).
        #[arg(long)]
        week: Option<String>,
        #[command(flatten)]
        json: Json,
    },
    /// The KPIs of a rep or your team for a month or a quarter: sales, visits and new
    /// customers against target, follow-up compliance, complaints handled in time, trip
    /// expenses against gross profit.
    Kpi(KpiArgs),
}

/// `fieldsync quarantine [list|show|retry|export|discard]`; without a subcommand, the list.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct QuarantineArgs {
    /// What to do with the quarantine (default: list it).
    #[command(subcommand)]
    pub command: Option<QuarantineCmd>,
    #[command(flatten)]
    pub json: Json,
}

/// `fieldsync quarantine …`
#[derive(Debug, Subcommand)]
pub enum QuarantineCmd {
    /// The entries: each document whose changes the server refused, with its reason.
    List(Json),
    /// What an entry's refused changes do, field by field: old → new, the text added.
    Show {
        /// The entry's number (see `fieldsync quarantine list`).
        entry: i64,
        #[command(flatten)]
        json: Json,
    },
    /// Write what is still allowed again, as new edits to send at the next sync.
    Retry {
        /// The entry's number.
        entry: i64,
        #[command(flatten)]
        json: Json,
    },
    /// Write an entry to a JSON file: its reason, field diff and raw changes.
    Export {
        /// The entry's number.
        entry: i64,
        /// The file to write.
        file: PathBuf,
    },
    /// Delete an entry for good (export it first to keep it).
    Discard {
        /// The entry's number.
        entry: i64,
    },
}
