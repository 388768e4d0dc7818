//! The read API, the browser writes and administration in-process (docs/PROTOCOL.md, "The
//! read API", "Administration", "The console's session"): the real router driven with
//! `tower::ServiceExt::oneshot`, documents made and pushed by real client stores through
//! `/v1/sync`, and every test run on both storage backends (SQLite, and PostgreSQL on a
//! private cluster).
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, Method, Request, StatusCode};
use fieldsync_core::Store;
use fieldsync_core::model::customer::NewCustomer;
use fieldsync_core::model::trip_plan::TripPlanEdit;
use fieldsync_core::model::visit::NewVisit;
use fieldsync_core::protocol::{CBOR_CONTENT_TYPE, SyncRequest, SyncResponse, decode, encode};
use fieldsync_server::config::{Config, build_state};
use fieldsync_server::router;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use support::postgres::PgCluster;
use support::{password, push_of, request};
use tower::ServiceExt;

/// A server over a fresh SQLite data directory or PostgreSQL cluster, with the HTTP tests'
/// team ([`support::add_team`]).
struct World {
    app: Router,
    dir: tempfile::TempDir,
    _pg: Option<PgCluster>,
}

/// Which backend a test runs on.
#[derive(Clone, Copy, Debug)]
enum Backend {
    Sqlite,
    Postgres,
}

fn world(backend: Backend, test: &str) -> Option<World> {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::new(dir.path().join("data"));
    let pg = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => {
            let pg = PgCluster::start(test)?;
            config.database_url = Some(pg.url("postgres"));
            Some(pg)
        }
    };
    let state = build_state(&config).unwrap();
    support::add_team(&*state.core.storage);
    Some(World {
        app: router(state),
        dir,
        _pg: pg,
    })
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Reply {
    #[track_caller]
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    #[track_caller]
    fn ok(&self) -> Value {
        assert_eq!(
            self.status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        self.json()
    }

    #[track_caller]
    fn error(&self, status: StatusCode, code: &str) -> Value {
        assert_eq!(
            self.status,
            status,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        let body = self.json();
        assert_eq!(body["error"], code, "{body}");
        body
    }
}

/// How a request proves who it is.
enum As<'a> {
    Nobody,
    Bearer(&'a str),
    /// The console's cookies, with the CSRF token in its header or not.
    Cookie {
        cookies: &'a str,
        csrf: Option<&'a str>,
    },
}

impl World {
    async fn call(&self, method: Method, path: &str, who: &As<'_>, body: Option<Value>) -> Reply {
        let mut req = Request::builder().method(method).uri(path);
        match who {
            As::Nobody => {}
            As::Bearer(t) => req = req.header(AUTHORIZATION, format!("Bearer {t}")),
            As::Cookie { cookies, csrf } => {
                req = req.header(COOKIE, *cookies);
                if let Some(c) = csrf {
                    req = req.header("x-csrf-token", *c);
                }
            }
        }
        let body = match body {
            Some(v) => {
                req = req.header(CONTENT_TYPE, "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        let resp = self
            .app
            .clone()
            .oneshot(req.body(body).unwrap())
            .await
            .unwrap();
        let (parts, body) = resp.into_parts();
        Reply {
            status: parts.status,
            headers: parts.headers,
            body: body.collect().await.unwrap().to_bytes(),
        }
    }

    async fn get(&self, path: &str, token: &str) -> Reply {
        self.call(Method::GET, path, &As::Bearer(token), None).await
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call(Method::POST, path, &As::Bearer(token), Some(body))
            .await
    }

    async fn login(&self, name: &str) -> String {
        let body = json!({"username": name, "password": password(name), "device_name": "手机"});
        let r = self
            .call(Method::POST, "/v1/auth/login", &As::Nobody, Some(body))
            .await;
        r.ok()["access_token"].as_str().unwrap().to_string()
    }

    async fn sync(&self, token: &str, req: &SyncRequest) -> SyncResponse {
        let r = Request::builder()
            .method(Method::POST)
            .uri("/v1/sync")
            .header(AUTHORIZATION, format!("Bearer {token}"))
            .header(CONTENT_TYPE, CBOR_CONTENT_TYPE)
            .body(Body::from(encode(req)))
            .unwrap();
        let resp = self.app.clone().oneshot(r).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        decode(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap()
    }

    /// Pushes documents `ids` of `store` as `token`'s user; all must be accepted.
    async fn push(&self, token: &str, store: &Store, ids: &[&str]) {
        let push = ids.iter().map(|id| push_of(store, id)).collect();
        let r = self.sync(token, &request(0, push)).await;
        assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    }

    /// Every document id a first sync of `token`'s user receives.
    async fn pulled(&self, token: &str) -> BTreeSet<String> {
        let r = self.sync(token, &request(0, vec![])).await;
        assert!(!r.more);
        r.documents.into_iter().map(|d| d.id).collect()
    }

    fn device(&self, name: &str) -> Store {
        let store = Store::open(self.dir.path().join(format!("{name}.db"))).unwrap();
        store.set_author(name).unwrap();
        store
    }
}

fn customer(name: &str, territory: &str, owner: &str) -> NewCustomer {
    NewCustomer {
        name: name.into(),
        territory: territory.into(),
        owner: owner.into(),
        created_by: owner.into(),
        phone: Some("0571-88886666".into()),
        ..Default::default()
    }
}

fn visit(customer: &str, author: &str, at: &str, summary: &str) -> NewVisit {
    NewVisit {
        customer: customer.into(),
        author: author.into(),
        checkin_at: at.into(),
        utc_offset_minutes: 480,
        summary: summary.into(),
        ..Default::default()
    }
}

/// The ids in a list answer's `items` (by `key`).
fn ids(list: &Value, key: &str) -> BTreeSet<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i[key].as_str().unwrap().to_string())
        .collect()
}

/// Runs `body` on a fresh world of `backend`. The blocking PostgreSQL client is opened and
/// closed outside the runtime's own threads, as the server does with every storage call.
async fn run(backend: Backend, test: &str, body: impl AsyncFnOnce(&World)) {
    let Some(w) = tokio::task::block_in_place(|| world(backend, test)) else {
        return;
    };
    let outcome =
        futures_util::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(body(&w))).await;
    tokio::task::block_in_place(move || drop(w));
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Runs a test body on both backends.
macro_rules! on_both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run(Backend::Sqlite, stringify!($name), $body).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                run(Backend::Postgres, stringify!($name), $body).await;
            }
        }
    };
}

/// li and wang (zhang's reps, east) and chen (zhao's, north) each own a customer with a
/// visit; returns (li's customer, wang's, chen's) and the visits' ids.
async fn three_customers(w: &World) -> ([String; 3], [String; 3]) {
    let mut customers = Vec::new();
    let mut visits = Vec::new();
    for (rep, name, territory) in [
        ("li", "华东精密机械有限公司", "east"),
        ("wang", "苏州新材料科技", "east"),
        ("chen", "北方重工集团", "north"),
    ] {
        let token = w.login(rep).await;
        let store = w.device(rep);
        let c = store
            .create_customer(customer(name, territory, rep))
            .unwrap();
        let v = store
            .create_visit(visit(
                &c,
                rep,
                "2026-11-24T02:00:00Z",
                &format!("{name}：介绍新品"),
            ))
            .unwrap();
        w.push(&token, &store, &[&c, &v]).await;
        customers.push(c);
        visits.push(v);
    }
    (customers.try_into().unwrap(), visits.try_into().unwrap())
}

on_both_backends!(
    every_role_sees_in_the_api_exactly_what_it_pulls,
    async |w: &World| {
        let (customers, visits) = three_customers(w).await;
        for name in ["admin", "zhang", "zhao", "li", "wang", "chen"] {
            let token = w.login(name).await;
            let pulled = w.pulled(&token).await;
            let listed = ids(&w.get("/v1/customers", &token).await.ok(), "id");
            let seen_visits = ids(&w.get("/v1/visits", &token).await.ok(), "id");
            let pulled_customers: BTreeSet<String> = customers
                .iter()
                .filter(|c| pulled.contains(*c))
                .cloned()
                .collect();
            let pulled_visits: BTreeSet<String> = visits
                .iter()
                .filter(|v| pulled.contains(*v))
                .cloned()
                .collect();
            assert_eq!(listed, pulled_customers, "{name}'s customers");
            assert_eq!(seen_visits, pulled_visits, "{name}'s visits");
            for c in &customers {
                let file = w.get(&format!("/v1/customers/{c}"), &token).await;
                if pulled.contains(c) {
                    let file = file.ok();
                    assert_eq!(file["customer"]["id"], c.as_str());
                    assert_eq!(file["visits"].as_array().unwrap().len(), 1);
                } else {
                    file.error(StatusCode::NOT_FOUND, "not_found");
                }
            }
        }
        // Nobody without credentials.
        w.call(Method::GET, "/v1/customers", &As::Nobody, None)
            .await
            .error(StatusCode::UNAUTHORIZED, "unauthenticated");
    }
);

on_both_backends!(
    customers_are_searched_in_chinese_filtered_and_paged,
    async |w: &World| {
        let (customers, _) = three_customers(w).await;
        let admin = w.login("admin").await;
        let found = w
            .get(
                &format!("/v1/customers?search={}", urlencode("精密")),
                &admin,
            )
            .await
            .ok();
        assert_eq!(ids(&found, "id"), BTreeSet::from([customers[0].clone()]));
        assert_eq!(found["items"][0]["name"], "华东精密机械有限公司");
        assert_eq!(found["items"][0]["phone"], "0571-88886666");
        let north = w.get("/v1/customers?territory=north", &admin).await.ok();
        assert_eq!(ids(&north, "id"), BTreeSet::from([customers[2].clone()]));
        let wangs = w.get("/v1/customers?owner=wang", &admin).await.ok();
        assert_eq!(ids(&wangs, "id"), BTreeSet::from([customers[1].clone()]));
        // A search pattern's own wildcards are text.
        let none = w.get("/v1/customers?search=%25", &admin).await.ok();
        assert_eq!(none["total"], 0);
        let all = w.get("/v1/customers?page=1", &admin).await.ok();
        assert_eq!(
            (all["total"].as_u64(), all["per_page"].as_u64()),
            (Some(3), Some(50))
        );
        let past = w.get("/v1/customers?page=2", &admin).await.ok();
        assert!(past["items"].as_array().unwrap().is_empty());
        w.get("/v1/customers?page=0", &admin)
            .await
            .error(StatusCode::BAD_REQUEST, "bad_request");
        w.get("/v1/customers?colour=red", &admin)
            .await
            .error(StatusCode::BAD_REQUEST, "bad_request");
    }
);

fn urlencode(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

on_both_backends!(
    visits_follow_ups_and_the_weekly_report_read_as_on_a_device,
    async |w: &World| {
        let (customers, visits) = three_customers(w).await;
        let zhang = w.login("zhang").await;
        let li = w.login("li").await;
        let week = w
            .get("/v1/visits?rep=li&from=2026-11-23&to=2026-11-29", &zhang)
            .await
            .ok();
        assert_eq!(ids(&week, "id"), BTreeSet::from([visits[0].clone()]));
        assert_eq!(week["items"][0]["customer_name"], "华东精密机械有限公司");
        assert_eq!(week["items"][0]["local_date"], "2026-11-24");
        // A rep asks about their own work only.
        w.get("/v1/visits?rep=wang", &li)
            .await
            .error(StatusCode::FORBIDDEN, "forbidden");
        w.get("/v1/reports/week?rep=chen&week=2026-W48", &zhang)
            .await
            .error(StatusCode::FORBIDDEN, "forbidden");
        let report = w
            .get("/v1/reports/week?rep=li&week=2026-W48", &zhang)
            .await
            .ok();
        assert_eq!(report["visit_count"], 1);
        assert_eq!(report["customers"][0]["name"], "华东精密机械有限公司");
        assert_eq!(
            report["customers"][0]["visits"][0]["summary"],
            "华东精密机械有限公司：介绍新品"
        );
        // Tier C by default: 30 days after the visit of 2026-11-24.
        let due = w.get("/v1/followups?date=2026-12-24", &zhang).await.ok();
        let items = due["items"].as_array().unwrap();
        let li_item = items
            .iter()
            .find(|i| i["customer"] == customers[0].as_str())
            .unwrap_or_else(|| panic!("li's customer is due: {due}"));
        assert_eq!(li_item["due_date"], "2026-12-24");
        assert_eq!(li_item["reason"], "cadence");
        assert_eq!(li_item["days_overdue"], 0);
        assert!(
            items.iter().all(|i| i["customer"] != customers[2].as_str()),
            "chen's customer is zhao's team's"
        );
        let early = w.get("/v1/followups?date=2026-12-23", &zhang).await.ok();
        assert!(early["items"].as_array().unwrap().is_empty(), "{early}");
        w.get("/v1/followups?date=tomorrow", &zhang)
            .await
            .error(StatusCode::BAD_REQUEST, "bad_request");
        // The KPIs, as a device computes them: li's visit of November, and zhang's team.
        let li_kpi = w.get("/v1/reports/kpi?period=2026-11", &li).await.ok();
        assert_eq!(
            (li_kpi["visits"].as_i64(), li_kpi["reps"].clone()),
            (Some(1), json!(["li"]))
        );
        let team = w
            .get("/v1/reports/kpi?team=true&period=2026-11", &zhang)
            .await
            .ok();
        assert_eq!(team["visits"], 2, "li's and wang's: {team}");
        assert_eq!(
            team["by_rep"].as_array().unwrap().len(),
            3,
            "zhang, li, wang"
        );
        w.get("/v1/reports/kpi?rep=chen&period=2026-11", &zhang)
            .await
            .error(StatusCode::FORBIDDEN, "forbidden");
        w.get("/v1/reports/kpi?period=November", &zhang)
            .await
            .error(StatusCode::BAD_REQUEST, "bad_request");
    }
);

on_both_backends!(
    a_browser_approval_passes_the_checks_of_a_push_and_reaches_the_rep,
    async |w: &World| {
        let li = w.login("li").await;
        let store = w.device("li");
        let plan = store
            .create_trip_plan(support::li_plan("宁波三日"))
            .unwrap();
        store
            .update_trip_plan(&plan, &[TripPlanEdit::Submit])
            .unwrap();
        w.push(&li, &store, &[&plan]).await;

        let zhang = w.login("zhang").await;
        let queue = w.get("/v1/approvals", &zhang).await.ok();
        assert_eq!(queue["trip_plans"][0]["id"], plan.as_str());
        // The rep cannot approve their own plan: the push's lifecycle rule says so.
        let refused = w
            .post(&format!("/v1/trip-plans/{plan}/approve"), &li, json!({}))
            .await
            .error(StatusCode::UNPROCESSABLE_ENTITY, "refused");
        assert!(refused["rule"].is_string(), "{refused}");
        // Another team's manager does not see it at all.
        let zhao = w.login("zhao").await;
        w.post(&format!("/v1/trip-plans/{plan}/approve"), &zhao, json!({}))
            .await
            .error(StatusCode::NOT_FOUND, "not_found");
        let approved = w
            .post(
                &format!("/v1/trip-plans/{plan}/approve"),
                &zhang,
                json!({"note": "同意"}),
            )
            .await
            .ok();
        assert_eq!(approved["status"], "approved");
        assert_eq!(approved["decided_by"], "zhang");
        assert!(
            w.get("/v1/approvals", &zhang).await.ok()["trip_plans"]
                .as_array()
                .unwrap()
                .is_empty()
        );
        // The rep's device pulls the decision, made by zhang.
        let r = w.sync(&li, &request(0, vec![])).await;
        let pulled = r.documents.iter().find(|d| d.id == plan).unwrap();
        store.merge_pulled(&plan, &pulled.data).unwrap();
        let merged = store.trip_plan(&plan).unwrap();
        assert_eq!(merged.status.as_str(), "approved");
        assert_eq!(merged.decided_by.as_deref(), Some("zhang"));
        // Not an id at all, or a document of another kind: not found.
        w.post("/v1/trip-plans/nonsense/approve", &zhang, json!({}))
            .await
            .error(StatusCode::NOT_FOUND, "not_found");
    }
);

on_both_backends!(
    a_manager_comments_on_a_visit_and_a_rep_may_not,
    async |w: &World| {
        let (_, visits) = three_customers(w).await;
        let zhang = w.login("zhang").await;
        let commented = w
            .post(
                &format!("/v1/visits/{}/comments", visits[0]),
                &zhang,
                json!({"text": "下次带上样品"}),
            )
            .await
            .ok();
        assert_eq!(commented["manager_comments"][0]["text"], "下次带上样品");
        assert_eq!(commented["manager_comments"][0]["author"], "zhang");
        let li = w.login("li").await;
        w.post(
            &format!("/v1/visits/{}/comments", visits[0]),
            &li,
            json!({"text": "我自己评论"}),
        )
        .await
        .error(StatusCode::UNPROCESSABLE_ENTITY, "refused");
        w.post(
            &format!("/v1/visits/{}/comments", visits[0]),
            &zhang,
            json!({"text": "  "}),
        )
        .await
        .error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
    }
);

on_both_backends!(
    the_console_session_needs_its_csrf_token_to_write,
    async |w: &World| {
        let (_, visits) = three_customers(w).await;
        let login = w
            .call(
                Method::POST,
                "/console/login",
                &As::Nobody,
                Some(json!({"username": "zhang", "password": password("zhang")})),
            )
            .await;
        let body = login.ok();
        let csrf = body["csrf_token"].as_str().unwrap().to_string();
        let set: Vec<String> = login
            .headers
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        let session = set
            .iter()
            .find(|c| c.starts_with("fieldsync_session="))
            .unwrap();
        assert!(session.contains("HttpOnly") && session.contains("SameSite=Strict"));
        let cookies: String = set
            .iter()
            .map(|c| c.split(';').next().unwrap().to_string())
            .collect::<Vec<_>>()
            .join("; ");
        let read = As::Cookie {
            cookies: &cookies,
            csrf: None,
        };
        let listed = w.call(Method::GET, "/v1/customers", &read, None).await.ok();
        assert_eq!(listed["total"], 2, "zhang's team's customers");
        let path = format!("/v1/visits/{}/comments", visits[0]);
        w.call(Method::POST, &path, &read, Some(json!({"text": "好"})))
            .await
            .error(StatusCode::FORBIDDEN, "forbidden");
        let forged = As::Cookie {
            cookies: &cookies,
            csrf: Some("0000"),
        };
        w.call(Method::POST, &path, &forged, Some(json!({"text": "好"})))
            .await
            .error(StatusCode::FORBIDDEN, "forbidden");
        let write = As::Cookie {
            cookies: &cookies,
            csrf: Some(&csrf),
        };
        w.call(Method::POST, &path, &write, Some(json!({"text": "好"})))
            .await
            .ok();
        let logout = w.call(Method::POST, "/console/logout", &write, None).await;
        assert_eq!(logout.status, StatusCode::NO_CONTENT);
        w.call(Method::GET, "/v1/customers", &read, None)
            .await
            .error(StatusCode::UNAUTHORIZED, "unauthenticated");
        // A wrong password is refused as at a device's login.
        w.call(
            Method::POST,
            "/console/login",
            &As::Nobody,
            Some(json!({"username": "zhang", "password": "wrong"})),
        )
        .await
        .error(StatusCode::UNAUTHORIZED, "unauthenticated");
    }
);

on_both_backends!(
    admins_change_users_and_their_scope_follows_with_an_audit_trail,
    async |w: &World| {
        let (customers, visits) = three_customers(w).await;
        let admin = w.login("admin").await;
        let zhang = w.login("zhang").await;
        // Only admins.
        w.get("/v1/admin/users", &zhang)
            .await
            .error(StatusCode::FORBIDDEN, "forbidden");
        w.post(
            "/v1/admin/users",
            &zhang,
            json!({"username": "x", "password": "12345678", "role": "rep"}),
        )
        .await
        .error(StatusCode::FORBIDDEN, "forbidden");
        // A new rep in north under zhao.
        let created = w
            .post(
                "/v1/admin/users",
                &admin,
                json!({"username": "sun", "password": "sun-password", "role": "rep",
                       "territories": ["north"], "manager": "zhao"}),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED);
        w.post(
            "/v1/admin/users",
            &admin,
            json!({"username": "sun", "password": "sun-password", "role": "rep"}),
        )
        .await
        .error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
        w.post(
            "/v1/admin/users",
            &admin,
            json!({"username": "short", "password": "1", "role": "rep"}),
        )
        .await
        .error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
        let users = w.get("/v1/admin/users", &admin).await.ok();
        assert!(
            users["users"]
                .as_array()
                .unwrap()
                .iter()
                .any(|u| u["username"] == "sun" && u["manager"] == "zhao")
        );
        // zhang takes over north: chen's customer and visit enter zhang's scope, as scope
        // events a device at a cursor receives whole.
        let cursor = w.sync(&zhang, &request(0, vec![])).await.cursor;
        let patched = w
            .call(
                Method::PATCH,
                "/v1/admin/users/zhang",
                &As::Bearer(&admin),
                Some(json!({"territories": ["east", "east2", "north"]})),
            )
            .await
            .ok();
        assert_eq!(patched["territories"], json!(["east", "east2", "north"]));
        let after = w.sync(&zhang, &request(cursor, vec![])).await;
        let entered: BTreeSet<String> = after.documents.iter().map(|d| d.id.clone()).collect();
        assert!(
            entered.contains(&customers[2]) && entered.contains(&visits[2]),
            "{entered:?}"
        );
        assert!(after.documents.iter().all(|d| d.snapshot), "sent whole");
        // And out again: revoked at the next sync.
        w.call(
            Method::PATCH,
            "/v1/admin/users/zhang",
            &As::Bearer(&admin),
            Some(json!({"territories": ["east", "east2"]})),
        )
        .await
        .ok();
        let left = w.sync(&zhang, &request(after.cursor, vec![])).await;
        assert!(left.revoked.contains(&customers[2]), "{:?}", left.revoked);
        // Disabling closes the sessions; an admin cannot disable themselves.
        let chen = w.login("chen").await;
        w.call(
            Method::PATCH,
            "/v1/admin/users/chen",
            &As::Bearer(&admin),
            Some(json!({"disabled": true})),
        )
        .await
        .ok();
        w.get("/v1/customers", &chen)
            .await
            .error(StatusCode::UNAUTHORIZED, "account_disabled");
        w.call(
            Method::PATCH,
            "/v1/admin/users/admin",
            &As::Bearer(&admin),
            Some(json!({"disabled": true})),
        )
        .await
        .error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
        w.call(
            Method::PATCH,
            "/v1/admin/users/nobody",
            &As::Bearer(&admin),
            Some(json!({"disabled": true})),
        )
        .await
        .error(StatusCode::NOT_FOUND, "not_found");
        // Territories, health and the audit log.
        let t = w
            .post("/v1/admin/territories", &admin, json!({"name": "south"}))
            .await;
        assert_eq!(t.status, StatusCode::CREATED);
        let list = w.get("/v1/admin/territories", &admin).await.ok();
        assert_eq!(
            list["territories"],
            json!(["east", "east2", "north", "south"])
        );
        let renamed = w
            .call(
                Method::PATCH,
                "/v1/admin/territories/north",
                &As::Bearer(&admin),
                Some(json!({"name": "华北"})),
            )
            .await
            .ok();
        assert_eq!(renamed["customers"], 1);
        let moved = w
            .get(&format!("/v1/customers/{}", customers[2]), &admin)
            .await
            .ok();
        assert_eq!(moved["customer"]["territory"], "华北");
        let zhao = w.login("zhao").await;
        assert_eq!(
            w.get("/v1/customers", &zhao).await.ok()["total"],
            1,
            "zhao's territory was renamed with the customer in it"
        );
        let health = w.get("/v1/admin/health", &admin).await.ok();
        assert_eq!(health["documents"], 6);
        assert!(health["users"].as_u64().unwrap() >= 7);
        let audit = w.get("/v1/admin/audit", &admin).await.ok();
        let actions: Vec<&str> = audit["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(
            actions,
            [
                "territory.rename",
                "territory.create",
                "user.update",
                "user.update",
                "user.update",
                "user.create"
            ]
        );
        assert!(
            audit["entries"]
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e["actor"] == "admin"
                    && !e["detail"].as_str().unwrap().contains("password\":\"s"))
        );
    }
);

on_both_backends!(
    a_manager_moves_a_customer_to_another_team_in_the_browser,
    async |w: &World| {
        let (customers, visits) = three_customers(w).await;
        let admin = w.login("admin").await;
        let zhao = w.login("zhao").await;
        let zhang = w.login("zhang").await;
        let zhao_cursor = w.sync(&zhao, &request(0, vec![])).await.cursor;
        let zhang_cursor = w.sync(&zhang, &request(0, vec![])).await.cursor;
        // A rep may not move their customer.
        let li = w.login("li").await;
        w.call(
            Method::PATCH,
            &format!("/v1/customers/{}", customers[0]),
            &As::Bearer(&li),
            Some(json!({"territory": "north"})),
        )
        .await
        .error(StatusCode::UNPROCESSABLE_ENTITY, "refused");
        let moved = w
            .call(
                Method::PATCH,
                &format!("/v1/customers/{}", customers[0]),
                &As::Bearer(&admin),
                Some(json!({"territory": "north", "owner": "chen"})),
            )
            .await
            .ok();
        assert_eq!(moved["territory"], "north");
        let gained = w.sync(&zhao, &request(zhao_cursor, vec![])).await;
        assert!(
            gained.documents.iter().any(|d| d.id == customers[0]),
            "zhao's device receives the customer"
        );
        let lost = w.sync(&zhang, &request(zhang_cursor, vec![])).await;
        assert!(
            lost.revoked.contains(&customers[0]),
            "zhang's device loses it: {:?}",
            lost.revoked
        );
        // li's visit stays with li's manager (the author's), as on a device.
        let _ = visits;
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_description_matches_the_routes() {
    run(Backend::Sqlite, "openapi", async |w: &World| {
        let spec = w
            .call(Method::GET, "/v1/openapi.json", &As::Nobody, None)
            .await
            .ok();
        let paths = spec["paths"].as_object().unwrap();
        // Every endpoint the console and integrations rely on is described.
        for (path, method) in [
            ("/v1/customers", "get"),
            ("/v1/customers/{id}", "get"),
            ("/v1/customers/{id}", "patch"),
            ("/v1/visits", "get"),
            ("/v1/followups", "get"),
            ("/v1/reports/week", "get"),
            ("/v1/reports/kpi", "get"),
            ("/v1/approvals", "get"),
            ("/v1/trip-plans/{id}/approve", "post"),
            ("/v1/trip-plans/{id}/reject", "post"),
            ("/v1/expense-claims/{id}/approve", "post"),
            ("/v1/expense-claims/{id}/reject", "post"),
            ("/v1/visits/{id}/comments", "post"),
            ("/v1/admin/users", "get"),
            ("/v1/admin/users", "post"),
            ("/v1/admin/users/{username}", "patch"),
            ("/v1/admin/territories", "get"),
            ("/v1/admin/territories", "post"),
            ("/v1/admin/territories/{name}", "patch"),
            ("/v1/admin/health", "get"),
            ("/v1/admin/audit", "get"),
        ] {
            assert!(
                paths.get(path).and_then(|p| p.get(method)).is_some(),
                "{method} {path} is not described"
            );
        }
        // And every described operation is a route the server answers (not the fallback's
        // "no such endpoint", not 405).
        let admin = w.login("admin").await;
        let mut operations = 0;
        for (path, item) in paths {
            let concrete = path
                .split('/')
                .map(|part| if part.starts_with('{') { "x" } else { part })
                .collect::<Vec<_>>()
                .join("/");
            for method in item.as_object().unwrap().keys() {
                let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                let body = (m != Method::GET).then(|| json!({}));
                let r = w.call(m, &concrete, &As::Bearer(&admin), body).await;
                assert_ne!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
                let answer: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
                assert!(
                    !answer["message"]
                        .as_str()
                        .unwrap_or("")
                        .starts_with("no such endpoint"),
                    "{method} {path} is described but not routed"
                );
                operations += 1;
            }
            assert!(
                item.as_object()
                    .unwrap()
                    .values()
                    .all(|op| op["responses"].is_object()),
                "{path}"
            );
        }
        assert!(operations >= 20, "{operations} operations");
    })
    .await;
}
