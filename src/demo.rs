//! `visitord demo-data`: fills a stopped store with realistic synthetic visitors (names in
//! several scripts, emails, phones in varied formats, custom fields), rooms with messages, and
//! navigation history, straight through the store. The same seed gives the same data.

use crate::domain::ImportItem;
use crate::model::ids::METEOR_ALPHABET;
use crate::model::{LastChat, PageVisit, Room, RoomSource, Visitor};
use crate::store::Store;
use crate::time::{now_ms, Millis, DAY_MS};

const BATCH: usize = 10_000;

const FIRST: &[&str] = &[
    "Ana",
    "João",
    "Lucía",
    "José",
    "Müller",
    "Zoë",
    "Łukasz",
    "Søren",
    "Chloé",
    "Ömer",
    "James",
    "Mary",
    "Olivia",
    "Noah",
    "Liam",
    "Fatima",
    "Amara",
    "Chen",
    "Priya",
    "Mateo",
    "Σωκράτης",
    "Ελένη",
    "Иван",
    "Ольга",
    "Дмитрий",
    "王小明",
    "李娜",
    "山田",
    "さくら",
    "김민준",
    "محمد",
    "فاطمة",
    "राहुल",
    "אברהם",
    "Nguyễn",
    "Björn",
    "Íñigo",
    "Ngozi",
    "Kwame",
    "Aylin",
];
const LAST: &[&str] = &[
    "Silva",
    "Santos",
    "García",
    "Fernández",
    "Schmidt",
    "Schäfer",
    "Nowak",
    "Wiśniewski",
    "Smith",
    "Johnson",
    "O'Brien",
    "Dubois",
    "Lefèvre",
    "Rossi",
    "Bianchi",
    "Kowalski",
    "Papadopoulos",
    "Παπαδόπουλος",
    "Иванов",
    "Смирнова",
    "张",
    "佐藤",
    "박",
    "الحسن",
    "शर्मा",
    "Cohen",
    "Yılmaz",
    "Nakamura",
    "Okafor",
    "Mensah",
    "Andersson",
    "Novák",
    "Horváth",
];
const DOMAINS: &[&str] = &[
    "example.com",
    "mail.example.org",
    "corp.example.net",
    "example.de",
    "example.com.br",
];
const CITIES: &[&str] = &[
    "Lisboa",
    "São Paulo",
    "Berlin",
    "Kraków",
    "Athens",
    "Tokyo",
    "Lagos",
    "Austin",
];
const PLANS: &[&str] = &["free", "starter", "pro", "enterprise"];
const PAGES: &[(&str, &str)] = &[
    ("Home", "/"),
    ("Pricing", "/pricing"),
    ("Docs", "/docs/getting-started"),
    ("Blog", "/blog/2025/release-notes"),
    ("Contact", "/contact"),
    ("Checkout", "/checkout?step=2"),
];
const MESSAGES: &[&str] = &[
    "Hello, I have a question about my order",
    "Can I change my plan later?",
    "Thanks!",
    "Is there a discount for non-profits?",
    "The page does not load for me",
];

/// What `demo-data` made.
#[derive(Debug, Default, Clone, Copy)]
pub struct DemoSummary {
    pub visitors: u64,
    pub rooms: u64,
    pub messages: u64,
    pub page_visits: u64,
}

fn pick<'a>(rng: &mut fastrand::Rng, items: &[&'a str]) -> &'a str {
    items[rng.usize(..items.len())]
}

fn id(rng: &mut fastrand::Rng) -> String {
    (0..17)
        .map(|_| METEOR_ALPHABET[rng.usize(..METEOR_ALPHABET.len())])
        .collect()
}

fn ascii_handle(rng: &mut fastrand::Rng, i: u64) -> String {
    let letters: String = (0..rng.usize(4..9)).map(|_| rng.lowercase()).collect();
    format!("{letters}{i}")
}

fn phone(rng: &mut fastrand::Rng) -> String {
    let d =
        |rng: &mut fastrand::Rng, n: usize| -> String { (0..n).map(|_| rng.digit(10)).collect() };
    match rng.u8(..5) {
        0 => format!("+55 {} {}-{}", d(rng, 2), d(rng, 5), d(rng, 4)),
        1 => format!("({}) {}-{}", d(rng, 3), d(rng, 3), d(rng, 4)),
        2 => format!("+49 {} {}", d(rng, 3), d(rng, 7)),
        3 => format!("{}.{}.{}", d(rng, 3), d(rng, 3), d(rng, 4)),
        _ => format!("+1{}", d(rng, 10)),
    }
}

/// One synthetic visitor (number `i`) with its rooms, messages and history.
fn item(rng: &mut fastrand::Rng, i: u64, pages_per_visitor: u32, now: Millis) -> ImportItem {
    let ts = now - rng.i64(1..730) * DAY_MS - rng.i64(0..DAY_MS);
    let token = format!("demo-{:x}-{i}", rng.u64(..));
    let name = (rng.u8(..10) < 9).then(|| format!("{} {}", pick(rng, FIRST), pick(rng, LAST)));
    let email =
        (rng.u8(..10) < 8).then(|| format!("{}@{}", ascii_handle(rng, i), pick(rng, DOMAINS)));
    // Drawn in this order so that a seed makes the same data as before.
    let visitor_id = id(rng);
    let updated_at = ts + rng.i64(0..DAY_MS);
    let status = ["online", "offline", "away"][rng.usize(..3)].to_string();
    let phone = (rng.u8(..10) < 6).then(|| phone(rng));
    let mut visitor = Visitor {
        username: format!("guest-{i}"),
        updated_at,
        status,
        name,
        email,
        phone,
        ..Visitor::new(visitor_id, token.clone(), ts)
    };
    if rng.bool() {
        visitor
            .livechat_data
            .push(("city".into(), pick(rng, CITIES).into()));
    }
    if rng.u8(..3) == 0 {
        visitor
            .livechat_data
            .push(("plan".into(), pick(rng, PLANS).into()));
    }
    let mut rooms = Vec::new();
    let mut messages = Vec::new();
    if rng.u8(..10) < 3 {
        let room_ts = ts + rng.i64(0..DAY_MS);
        let open = rng.u8(..4) == 0;
        let mut room = Room::opened_by(&visitor, id(rng), room_ts, 0, RoomSource::Api);
        if !open {
            room.close_by_visitor(room_ts + 600_000);
        }
        for k in 0..rng.u64(1..4) {
            let msg_ts = room_ts + (k as i64 + 1) * 30_000;
            let msg_id = id(rng);
            let text = pick(rng, MESSAGES).into();
            messages.push(room.visitor_message(&visitor, msg_id, text, msg_ts, 0));
        }
        visitor.last_chat = Some(LastChat::of(&room));
        rooms.push(room);
    }
    let visits = (0..pages_per_visitor)
        .map(|k| {
            let (title, path) = PAGES[rng.usize(..PAGES.len())];
            let visit_ts = ts + k as i64 * 20_000;
            PageVisit {
                id: id(rng),
                rid: rooms.first().map(|r| r.id.clone()),
                token: token.clone(),
                ts: visit_ts,
                seq: 0,
                title: title.into(),
                change: "url".into(),
                href: format!("https://shop.example.com{path}"),
                updated_at: visit_ts,
                expire_at: None,
            }
        })
        .collect();
    ImportItem {
        visitor,
        rooms,
        messages,
        visits,
    }
}

/// Adds `visitors` synthetic visitors numbered after the store's guest counter.
pub fn generate(
    store: &Store,
    visitors: u64,
    pages_per_visitor: u32,
    seed: u64,
    mut progress: impl FnMut(u64),
) -> Result<DemoSummary, String> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let first = store.guest_counter().map_err(|e| e.to_string())? + 1;
    let now = now_ms();
    let mut summary = DemoSummary::default();
    let mut done = 0u64;
    while done < visitors {
        let n = (visitors - done).min(BATCH as u64);
        let items: Vec<ImportItem> = (0..n)
            .map(|k| item(&mut rng, first + done + k, pages_per_visitor, now))
            .collect();
        for it in &items {
            summary.rooms += it.rooms.len() as u64;
            summary.messages += it.messages.len() as u64;
            summary.page_visits += it.visits.len() as u64;
        }
        let verdicts = store.import_batch(items).map_err(|e| e.to_string())?;
        summary.visitors += verdicts.iter().filter(|v| v.is_none()).count() as u64;
        done += n;
        progress(done);
    }
    store
        .raise_guest_counter(first + visitors - 1)
        .map_err(|e| e.to_string())?;
    store.flush().map_err(|e| e.to_string())?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_data_is_consistent_and_continues_the_guest_counter() {
        let (_dir, store) = crate::store::temp_store(&["city"]);
        let s = generate(&store, 300, 2, 42, |_| {}).unwrap();
        assert_eq!(s.visitors, 300);
        assert_eq!(s.page_visits, 600);
        assert_eq!(store.counts().visitors, 300);
        assert_eq!(store.guest_counter().unwrap(), 300);
        assert!(store.check().unwrap().problems.is_empty());
        generate(&store, 10, 0, 43, |_| {}).unwrap();
        assert!(store.visitor_by_token("nope").unwrap().is_none());
        assert_eq!(store.guest_counter().unwrap(), 310);
    }
}
