//! HTTP-level races: concurrent in-process requests through the whole app (handlers run their
//! store calls on the blocking pool, so the writes really overlap).

use super::{assert_consistent, reg};
use crate::api::util::{
    assert_bad_request, assert_success, invalid_token, plain_error, visitor_path, ROOM, VISITOR,
};
use crate::common::{Resp, TestApp};
use actix_web::dev::{Service, ServiceResponse};
use actix_web::test::{init_service, TestRequest};
use futures_util::future::join_all;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use visitord::time::now_ms;

const REQUESTS: usize = 16;
const ROUNDS: usize = 10;

fn peer() -> SocketAddr {
    "127.0.0.1:40000".parse().expect("addr")
}

fn post_visitor(visitor: Value) -> TestRequest {
    TestRequest::post()
        .uri(VISITOR)
        .peer_addr(peer())
        .set_json(json!({ "visitor": visitor }))
}

/// Sends every request at once; returns the responses in request order.
async fn all_at_once<S, B>(svc: &S, requests: Vec<actix_http::Request>) -> Vec<Resp>
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: actix_web::body::MessageBody,
{
    join_all(requests.into_iter().map(|r| crate::common::send(svc, r))).await
}

#[actix_web::test]
async fn one_phone_under_many_tokens_over_http_keeps_the_first_token() {
    let app = crate::api::util::merging_app();
    let svc = init_service(visitord::http::build_app(app.state.clone())).await;
    let store = app.backend();
    for round in 0..ROUNDS {
        let ctx = format!("round {round}");
        let phone = format!("+1 (555) {round:03}-0000");
        let tokens: Vec<String> = (0..REQUESTS).map(|i| format!("hp-{round}-{i}")).collect();
        let requests = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| {
                post_visitor(json!({"token": t, "phone": phone, "name": format!("r{i}")}))
                    .to_request()
            })
            .collect();
        let visitors: Vec<Value> = all_at_once(&svc, requests)
            .await
            .iter()
            .map(|r| assert_success(r)["visitor"].clone())
            .collect();
        let kept = visitors[0]["token"].clone();
        for v in &visitors {
            assert_eq!(v["_id"], visitors[0]["_id"], "{ctx}: one visitor");
            assert_eq!(
                v["token"], kept,
                "{ctx}: the phone match keeps the old token"
            );
            assert_eq!(v["phone"], json!([{"phoneNumber": phone}]), "{ctx}");
        }
        let own = (0..REQUESTS)
            .filter(|i| visitors[*i]["token"] == json!(tokens[*i]))
            .count();
        assert_eq!(
            own, 1,
            "{ctx}: exactly the first registrant's token is kept"
        );
        let kept = kept.as_str().expect("token").to_string();
        for t in tokens.iter().filter(|t| **t != kept) {
            assert!(store.visitor_by_token(t).expect("read").is_none(), "{ctx}");
        }
        let holder = super::visitor_by_phone(store, &phone)
            .expect("read")
            .expect("holder");
        assert_eq!(holder.token, kept, "{ctx}");
        assert_consistent(&app, &ctx);
    }
    assert_eq!(store.counts().visitors, ROUNDS);
}

/// The email is trimmed and lower-cased before the match: differently written copies of one
/// address under different tokens still make one visitor.
#[actix_web::test]
async fn one_email_written_many_ways_over_http_makes_one_visitor() {
    let app = crate::api::util::merging_app();
    let svc = init_service(visitord::http::build_app(app.state.clone())).await;
    let store = app.backend();
    for round in 0..ROUNDS {
        let ctx = format!("round {round}");
        let email = format!("racer{round}@example.com");
        let tokens: Vec<String> = (0..REQUESTS).map(|i| format!("he-{round}-{i}")).collect();
        let requests = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let written = match i % 3 {
                    0 => email.clone(),
                    1 => format!("  {}  ", email.to_uppercase()),
                    _ => format!("Racer{round}@Example.com"),
                };
                post_visitor(json!({"token": t, "email": written})).to_request()
            })
            .collect();
        let visitors: Vec<Value> = all_at_once(&svc, requests)
            .await
            .iter()
            .map(|r| assert_success(r)["visitor"].clone())
            .collect();
        for (i, v) in visitors.iter().enumerate() {
            assert_eq!(v["_id"], visitors[0]["_id"], "{ctx}: one visitor");
            assert_eq!(
                v["token"],
                json!(tokens[i]),
                "{ctx}: the email match takes the token"
            );
            assert_eq!(v["visitorEmails"], json!([{"address": email}]), "{ctx}");
        }
        let holder = super::visitor_by_email(store, &email)
            .expect("read")
            .expect("holder");
        assert!(tokens.contains(&holder.token), "{ctx}");
        let registered = tokens
            .iter()
            .filter(|t| store.visitor_by_token(t).expect("read").is_some())
            .count();
        assert_eq!(registered, 1, "{ctx}: only the final token is registered");
        assert_consistent(&app, &ctx);
    }
    assert_eq!(store.counts().visitors, ROUNDS);
}

#[actix_web::test]
async fn concurrent_room_requests_over_http_open_one_room() {
    let app = TestApp::new();
    let svc = init_service(visitord::http::build_app(app.state.clone())).await;
    let store = app.backend();
    for round in 0..ROUNDS {
        let ctx = format!("round {round}");
        let token = format!("hr-{round}");
        let v = store
            .register_visitor(&reg(&token), now_ms())
            .expect("register");
        // Even requests open without `rid`; odd ones name a client-chosen id, which is refused
        // whatever the race (no room is ever created under it).
        let requests = (0..REQUESTS)
            .map(|i| {
                let uri = if i % 2 == 0 {
                    format!("{ROOM}?token={token}")
                } else {
                    format!("{ROOM}?token={token}&rid=hr-{round}-{i}")
                };
                TestRequest::get().uri(&uri).peer_addr(peer()).to_request()
            })
            .collect();
        let mut bodies: Vec<Value> = Vec::new();
        for (i, resp) in all_at_once(&svc, requests).await.iter().enumerate() {
            if i % 2 == 0 {
                bodies.push(assert_success(resp));
            } else {
                assert_bad_request(resp, &plain_error("invalid-room"));
            }
        }
        let rid = bodies[0]["room"]["_id"].clone();
        for b in &bodies {
            assert_eq!(b["room"]["_id"], rid, "{ctx}: one room for every caller");
            assert_eq!(b["room"]["open"], json!(true), "{ctx}");
        }
        let new_rooms = bodies
            .iter()
            .filter(|b| b["newRoom"] == json!(true))
            .count();
        assert_eq!(new_rooms, 1, "{ctx}: exactly one newRoom");
        let rooms = store.rooms_of_visitor(&v.id).expect("read");
        assert_eq!(rooms.len(), 1, "{ctx}: one room");
        assert!(rooms[0].open && json!(rooms[0].id) == rid, "{ctx}");
        assert_consistent(&app, &ctx);
    }
}

#[actix_web::test]
async fn concurrent_delete_and_register_over_http() {
    let app = TestApp::new();
    let svc = init_service(visitord::http::build_app(app.state.clone())).await;
    let store = app.backend();
    for round in 0..ROUNDS {
        let ctx = format!("round {round}");
        let token = format!("hd-{round}");
        if round % 2 == 1 {
            store
                .register_visitor(&reg(&token), now_ms())
                .expect("prior");
        }
        let requests = (0..REQUESTS)
            .map(|i| {
                if i % 2 == 0 {
                    post_visitor(json!({"token": token, "name": format!("r{i}")})).to_request()
                } else {
                    TestRequest::delete()
                        .uri(&visitor_path(&token))
                        .peer_addr(peer())
                        .to_request()
                }
            })
            .collect();
        let responses = all_at_once(&svc, requests).await;
        let mut deleted = BTreeSet::new();
        for (i, r) in responses.iter().enumerate() {
            if i % 2 == 0 {
                assert_success(r);
            } else if r.status == 200 {
                let body = assert_success(r);
                let id = body["visitor"]["_id"].as_str().expect("id").to_string();
                assert!(deleted.insert(id), "{ctx}: one visitor deleted twice");
            } else {
                assert_bad_request(r, &invalid_token());
            }
        }
        let last = store.visitor_by_token(&token).expect("read");
        if let Some(v) = &last {
            assert!(!deleted.contains(&v.id), "{ctx}: a deleted visitor is back");
        }
        for id in &deleted {
            assert!(store.visitor_by_id(id).expect("read").is_none(), "{ctx}");
        }
        let get = app.get(&visitor_path(&token)).await;
        match &last {
            Some(v) => {
                assert_eq!(assert_success(&get)["visitor"]["_id"], json!(v.id), "{ctx}")
            }
            None => assert_bad_request(&get, &invalid_token()),
        }
        assert_consistent(&app, &ctx);
    }
}
