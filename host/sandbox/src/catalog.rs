//! The sandbox's catalogs: `items_batch` (at most 5,000 requests a call; each item
//! checked as Meta checks feed rows, the bad ones reported by the batch's status),
//! single products, `check_batch_request_status` (in progress at the first look,
//! finished after), and product listings. With `SandboxConfig::catalog_token` set,
//! these endpoints take that token only, as a catalog connected separately would.

use crate::net::{self, Resp};
use crate::{Sandbox, graph_error, invalid, query_param, random_bytes};
use hyper::StatusCode;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};

/// One catalog.
#[derive(Default)]
pub(crate) struct Catalog {
    /// Products by retailer id.
    products: BTreeMap<String, Value>,
    /// Batches by handle: (times checked, the items refused).
    batches: HashMap<String, (u32, Vec<Value>)>,
}

const AVAILABILITY: [&str; 5] = [
    "in stock",
    "out of stock",
    "preorder",
    "available for order",
    "discontinued",
];

fn product_id(catalog: &str, retailer_id: &str) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(format!("{catalog}/{retailer_id}").as_bytes());
    let n = d[..7].iter().fold(0u64, |n, &x| n * 256 + u64::from(x));
    format!("{}", 3_000_000_000_000_000 + n % 999_999_999_999_999)
}

fn valid_price(p: &str) -> bool {
    let Some((amount, currency)) = p.split_once(' ') else {
        return false;
    };
    let (units, cents) = amount.split_once('.').unwrap_or((amount, "00"));
    !units.is_empty()
        && units.bytes().all(|b| b.is_ascii_digit())
        && cents.len() == 2
        && cents.bytes().all(|b| b.is_ascii_digit())
        && currency.len() == 3
        && currency.bytes().all(|b| b.is_ascii_uppercase())
}

/// Why a feed row would be refused, if it would.
fn refusal(d: &Value) -> Option<String> {
    let s = |k: &str| d[k].as_str().unwrap_or("");
    if s("id").trim().is_empty() {
        return Some("Missing required field: id".into());
    }
    if s("title").trim().is_empty() {
        return Some("Missing required field: title".into());
    }
    if !valid_price(s("price")) {
        return Some(format!("Invalid price: {:?}", s("price")));
    }
    if !AVAILABILITY.contains(&s("availability")) {
        return Some(format!("Invalid availability: {:?}", s("availability")));
    }
    if !s("image_link").starts_with("https://") {
        return Some("Invalid image_link: must be an https URL".into());
    }
    None
}

fn catalogs(s: &Sandbox) -> std::sync::MutexGuard<'_, HashMap<String, Catalog>> {
    s.catalogs.lock().unwrap_or_else(|p| p.into_inner())
}

/// `POST /{catalog-id}/items_batch`.
pub(crate) fn items_batch(s: &Sandbox, catalog_id: &str, body: &[u8]) -> Resp {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return invalid("The request body is not valid JSON");
    };
    if v["item_type"] != "PRODUCT_ITEM" {
        return invalid("Param item_type must be PRODUCT_ITEM");
    }
    let Some(requests) = v["requests"].as_array() else {
        return invalid("Param requests is required");
    };
    if requests.is_empty() || requests.len() > 5000 {
        return invalid("Param requests must have 1 to 5000 items");
    }
    let mut all = catalogs(s);
    let catalog = all.entry(catalog_id.to_string()).or_default();
    let mut errors = Vec::new();
    for (line, r) in requests.iter().enumerate() {
        let d = &r["data"];
        let id = d["id"].as_str().unwrap_or("").to_string();
        let problem = match r["method"].as_str() {
            Some("UPDATE" | "CREATE") => refusal(d).or_else(|| {
                let p = json!({ "id": product_id(catalog_id, &id), "retailer_id": id,
                    "name": d["title"], "price": d["price"], "availability": d["availability"] });
                catalog.products.insert(id.clone(), p);
                None
            }),
            Some("DELETE") => catalog
                .products
                .remove(&id)
                .is_none()
                .then(|| format!("No product with id {id:?}")),
            _ => Some("Invalid method: must be CREATE, UPDATE or DELETE".into()),
        };
        if let Some(message) = problem {
            errors.push(json!({ "line": line, "id": id, "message": message }));
        }
    }
    let handle = format!("AC{}", hex::encode(random_bytes::<10>()));
    catalog.batches.insert(handle.clone(), (0, errors));
    net::json(
        StatusCode::OK,
        &json!({ "handles": [handle], "validation_status": [] }),
    )
}

/// `GET /{catalog-id}/check_batch_request_status?handle=…`.
pub(crate) fn batch_status(s: &Sandbox, catalog_id: &str, query: &str) -> Resp {
    let Some(handle) = query_param(query, "handle") else {
        return invalid("Param handle is required");
    };
    let mut all = catalogs(s);
    let Some((checks, errors)) = all
        .get_mut(catalog_id)
        .and_then(|c| c.batches.get_mut(handle))
    else {
        return graph_error(StatusCode::BAD_REQUEST, 100, None, "(#100) Invalid handle");
    };
    *checks += 1;
    let status = if *checks == 1 {
        "in_progress"
    } else {
        "finished"
    };
    let errors = if *checks == 1 {
        Vec::new()
    } else {
        errors.clone()
    };
    net::json(
        StatusCode::OK,
        &json!({ "data": [{ "handle": handle, "status": status,
            "errors_total_count": errors.len(), "errors": errors }] }),
    )
}

/// `POST /{catalog-id}/products`.
pub(crate) fn create(s: &Sandbox, catalog_id: &str, body: &[u8]) -> Resp {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return invalid("The request body is not valid JSON");
    };
    let (Some(rid), Some(name), Some(price), Some(currency)) = (
        v["retailer_id"].as_str(),
        v["name"].as_str(),
        v["price"].as_u64(),
        v["currency"].as_str(),
    ) else {
        return invalid("Param retailer_id, name, price (minor units) and currency are required");
    };
    let mut all = catalogs(s);
    let catalog = all.entry(catalog_id.to_string()).or_default();
    if catalog.products.contains_key(rid) {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            Some(1798003),
            &format!("(#100) A product with retailer_id {rid} already exists"),
        );
    }
    let id = product_id(catalog_id, rid);
    let p = json!({ "id": id, "retailer_id": rid, "name": name,
        "price": format!("{}.{:02} {currency}", price / 100, price % 100),
        "availability": v["availability"] });
    catalog.products.insert(rid.to_string(), p);
    net::json(StatusCode::OK, &json!({ "id": id }))
}

/// `GET /{catalog-id}/products`: all of them, one page.
pub(crate) fn list(s: &Sandbox, catalog_id: &str) -> Resp {
    let all = catalogs(s);
    let data: Vec<&Value> = all
        .get(catalog_id)
        .map(|c| c.products.values().collect())
        .unwrap_or_default();
    net::json(StatusCode::OK, &json!({ "data": data }))
}
