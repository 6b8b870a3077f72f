//! The HTTP ceiling for `scripts/load.sh`: the fastest this machine, actix-web and `wrk`
//! together can answer a request the size of a visitor document, with no store behind it.
//!
//! One route, `GET /ceiling`, answers a fixed JSON body shaped and sized like visitord's
//! `GET /api/v1/livechat/visitor/{token}` (about 320 bytes, same headers), so the ratio of
//! visitord's req/s to this one's is the share of the HTTP stack's capacity visitord keeps.
//!
//! cargo run --release --example ceiling -- [--bind 127.0.0.1:0] [--workers N]
//!
//! The first line on stdout is `listening on ADDR` (port 0 picks a free port).

use actix_web::http::header::{CacheControl, CacheDirective, ContentType};
use actix_web::{web, App, HttpResponse, HttpServer};
use std::io::Write;

/// A visitor as visitord returns it (`{"visitor":{…},"success":true}`), 323 bytes.
const BODY: &str = concat!(
    r#"{"visitor":{"_id":"MLc7bvh3sCEx7PLbx","token":"824f5271a8738a947","username":"guest-5","#,
    r#""ts":"2022-01-01T00:08:00.032Z","_updatedAt":"2022-03-16T18:21:38.764Z","status":"online","#,
    r#""name":"Żaneta Dąbrowski","phone":[{"phoneNumber":"511.543.7268"}],"#,
    r#""livechatData":{"source":"widget","customerId":"C951093096"}},"success":true}"#
);

async fn ceiling() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::json())
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .body(BODY)
}

struct Args {
    bind: String,
    workers: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        bind: "127.0.0.1:0".into(),
        workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--bind" => args.bind = value()?,
            "--workers" => {
                args.workers = value()?
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or("--workers needs a positive number")?;
            }
            "-h" | "--help" => {
                println!("usage: ceiling [--bind ADDR] [--workers N]");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    actix_web::rt::System::new().block_on(async move {
        let server = HttpServer::new(|| App::new().route("/ceiling", web::get().to(ceiling)))
            .workers(args.workers)
            .bind(&args.bind)?;
        let addrs = server.addrs();
        let addr = addrs.first().ok_or("bound to no address")?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on {addr}")?;
        out.flush()?;
        drop(out);
        server.run().await?;
        Ok(())
    })
}
