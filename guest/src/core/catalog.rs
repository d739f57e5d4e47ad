//! Catalog products: checked locally (retailer id, name, price and currency,
//! availability, condition, image and link URLs), upserted and deleted through
//! `POST /{catalog-id}/items_batch` in chunks of Meta's per-call limit, created one at a
//! time with `POST /{catalog-id}/products`, and batches followed with
//! `GET /{catalog-id}/check_batch_request_status`. Every call uses the catalog token
//! when the tenant has one.

use super::error::Error;
use super::graph::{Credential, Request, encode_query, read_json};
use super::ids::check_node_id;
use super::settings::Settings;
use serde::Deserialize;
use serde_json::{Value, json};

/// Items per `items_batch` call (Meta's limit).
pub const BATCH_MAX: usize = 5000;
/// `retailer_id` characters.
pub const RETAILER_ID_MAX: usize = 100;
/// `title` characters.
pub const NAME_MAX: usize = 150;
/// `description` characters.
pub const DESCRIPTION_MAX: usize = 9999;
/// The availabilities Meta accepts.
pub const AVAILABILITY: [&str; 5] = [
    "in stock",
    "out of stock",
    "preorder",
    "available for order",
    "discontinued",
];
/// The conditions Meta accepts.
pub const CONDITION: [&str; 3] = ["new", "refurbished", "used"];
/// Currencies without minor units (ISO 4217 exponent 0).
const ZERO_DECIMAL: [&str; 10] = [
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KRW", "PYG", "UGX", "VND",
];
/// Currencies with three decimals (ISO 4217 exponent 3).
const THREE_DECIMAL: [&str; 7] = ["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];

/// Digits after the decimal point in `currency` (ISO 4217's exponent).
pub fn exponent(currency: &str) -> u32 {
    if ZERO_DECIMAL.contains(&currency) {
        0
    } else if THREE_DECIMAL.contains(&currency) {
        3
    } else {
        2
    }
}

/// An amount in major units (`12.99`) as minor units (1299) of `currency`; none if it
/// has more decimals than the currency, or is not a number.
pub fn minor_units(amount: &str, currency: &str) -> Option<u64> {
    let e = exponent(currency) as usize;
    let amount = amount.trim();
    let (units, decimals) = amount.split_once('.').unwrap_or((amount, ""));
    if units.is_empty()
        || !units.bytes().all(|b| b.is_ascii_digit())
        || decimals.len() > e
        || !decimals.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let decimals = format!("{decimals:0<e$}");
    let fraction = if e == 0 {
        0
    } else {
        decimals.parse::<u64>().ok()?
    };
    units
        .parse::<u64>()
        .ok()?
        .checked_mul(10u64.pow(e as u32))?
        .checked_add(fraction)
}

/// A product to upsert.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Product {
    /// The business's own id for it (the SKU).
    pub retailer_id: String,
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: Option<String>,
    /// The price in minor units (cents), with `currency`.
    pub price_minor: u64,
    /// ISO 4217 (`USD`).
    pub currency: String,
    /// One of [`AVAILABILITY`].
    pub availability: String,
    /// One of [`CONDITION`] (default `new`).
    pub condition: Option<String>,
    /// An https image URL.
    pub image_url: String,
    /// The product page (https).
    pub url: Option<String>,
    /// Its brand.
    pub brand: Option<String>,
}

fn https(field: &str, url: &str) -> Result<(), Error> {
    if !url.starts_with("https://") || url.len() > 2000 || url.chars().any(char::is_whitespace) {
        return Err(Error::invalid(
            field,
            "must be an https:// URL (at most 2000 characters)",
        ));
    }
    Ok(())
}

/// The price as Meta's feeds write it: `9.99 USD`, `1500 JPY`, `1.250 KWD`.
pub fn price_text(minor: u64, currency: &str) -> String {
    let e = exponent(currency);
    let scale = 10u64.pow(e);
    if e == 0 {
        format!("{minor} {currency}")
    } else {
        format!(
            "{}.{:0w$} {currency}",
            minor / scale,
            minor % scale,
            w = e as usize
        )
    }
}

impl Product {
    /// Check the product against Meta's rules; the error names the field.
    pub fn validate(&self) -> Result<(), Error> {
        let id = self.retailer_id.trim();
        if id.is_empty() || id.chars().count() > RETAILER_ID_MAX || id.chars().any(char::is_control)
        {
            return Err(Error::invalid(
                "retailer-id",
                format!("must be 1 to {RETAILER_ID_MAX} printable characters"),
            ));
        }
        if self.name.trim().is_empty() || self.name.chars().count() > NAME_MAX {
            return Err(Error::invalid(
                "name",
                format!("must be 1 to {NAME_MAX} characters"),
            ));
        }
        if self
            .description
            .as_ref()
            .is_some_and(|d| d.chars().count() > DESCRIPTION_MAX)
        {
            return Err(Error::invalid(
                "description",
                format!("must be at most {DESCRIPTION_MAX} characters"),
            ));
        }
        if self.currency.len() != 3 || !self.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(Error::invalid(
                "currency",
                "must be an ISO 4217 code such as USD",
            ));
        }
        if !AVAILABILITY.contains(&self.availability.as_str()) {
            return Err(Error::invalid(
                "availability",
                format!("must be one of: {}", AVAILABILITY.join(", ")),
            ));
        }
        if let Some(c) = &self.condition
            && !CONDITION.contains(&c.as_str())
        {
            return Err(Error::invalid(
                "condition",
                format!("must be one of: {}", CONDITION.join(", ")),
            ));
        }
        https("image-url", &self.image_url)?;
        if let Some(u) = &self.url {
            https("url", u)?;
        }
        Ok(())
    }

    /// The item's `data` in an `items_batch` request (Meta's catalog feed fields).
    fn batch_data(&self) -> Value {
        let mut d = json!({
            "id": self.retailer_id.trim(),
            "title": self.name,
            "price": price_text(self.price_minor, &self.currency),
            "availability": self.availability,
            "condition": self.condition.as_deref().unwrap_or("new"),
            "image_link": self.image_url,
            "description": self.description.as_deref().unwrap_or(&self.name),
        });
        if let Some(u) = &self.url {
            d["link"] = u.as_str().into();
        }
        if let Some(b) = &self.brand {
            d["brand"] = b.as_str().into();
        }
        d
    }
}

/// A refused item: its position, its retailer id, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// Its index in the list given.
    pub index: u32,
    /// Its retailer id.
    pub retailer_id: String,
    /// Why, with the field.
    pub reason: String,
}

fn batch_request(s: &Settings, catalog_id: &str, requests: Vec<Value>) -> Result<Request, Error> {
    let id = check_node_id("catalog-id", catalog_id)?;
    let body = json!({ "item_type": "PRODUCT_ITEM", "allow_upsert": true, "requests": requests });
    let mut r = Request::post_json(s.url(&format!("{id}/items_batch")), &body);
    r.credential = Credential::Catalog;
    Ok(r)
}

/// One `items_batch` call and the items it carries (index, retailer id), so that a
/// failed call can be reported item by item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// The call.
    pub request: Request,
    /// Its items.
    pub items: Vec<(u32, String)>,
}

/// Upserts in chunks of [`BATCH_MAX`]: the calls, and the items refused locally (the
/// others are sent).
pub fn upsert_requests(
    s: &Settings,
    catalog_id: &str,
    products: &[Product],
) -> Result<(Vec<Chunk>, Vec<Refused>), Error> {
    let mut refused = Vec::new();
    let mut items = Vec::new();
    for (i, p) in products.iter().enumerate() {
        match p.validate() {
            Ok(()) => items.push((
                (i as u32, p.retailer_id.clone()),
                json!({ "method": "UPDATE", "data": p.batch_data() }),
            )),
            Err(Error::InvalidInput { field, reason }) => refused.push(Refused {
                index: i as u32,
                retailer_id: p.retailer_id.clone(),
                reason: format!("{field}: {reason}"),
            }),
            Err(e) => return Err(e),
        }
    }
    Ok((chunks(s, catalog_id, items)?, refused))
}

/// Deletes by retailer id, in chunks of [`BATCH_MAX`].
pub fn delete_requests(
    s: &Settings,
    catalog_id: &str,
    retailer_ids: &[String],
) -> Result<Vec<Chunk>, Error> {
    if let Some(i) = retailer_ids.iter().position(|r| r.trim().is_empty()) {
        return Err(Error::invalid(
            format!("retailer-ids[{i}]"),
            "must not be empty",
        ));
    }
    let items = retailer_ids
        .iter()
        .enumerate()
        .map(|(i, r)| {
            (
                (i as u32, r.clone()),
                json!({ "method": "DELETE", "data": { "id": r.trim() } }),
            )
        })
        .collect();
    chunks(s, catalog_id, items)
}

type Item = ((u32, String), Value);

fn chunks(s: &Settings, catalog_id: &str, items: Vec<Item>) -> Result<Vec<Chunk>, Error> {
    items
        .chunks(BATCH_MAX)
        .map(|c| {
            Ok(Chunk {
                request: batch_request(s, catalog_id, c.iter().map(|(_, v)| v.clone()).collect())?,
                items: c.iter().map(|(k, _)| k.clone()).collect(),
            })
        })
        .collect()
}

#[derive(Deserialize)]
struct Handles {
    #[serde(default)]
    handles: Vec<String>,
}

/// Read an `items_batch` answer: its handles.
pub fn read_handles(status: u16, body: &[u8]) -> Result<Vec<String>, Error> {
    Ok(read_json::<Handles>(status, body)?.handles)
}

/// `POST /{catalog-id}/products`: one product.
pub fn create_request(s: &Settings, catalog_id: &str, p: &Product) -> Result<Request, Error> {
    let id = check_node_id("catalog-id", catalog_id)?;
    p.validate()?;
    let mut body = json!({
        "retailer_id": p.retailer_id.trim(), "name": p.name, "price": p.price_minor,
        "currency": p.currency, "availability": p.availability,
        "condition": p.condition.as_deref().unwrap_or("new"), "image_url": p.image_url,
        "description": p.description.as_deref().unwrap_or(&p.name),
    });
    if let Some(u) = &p.url {
        body["url"] = u.as_str().into();
    }
    if let Some(b) = &p.brand {
        body["brand"] = b.as_str().into();
    }
    let mut r = Request::post_json(s.url(&format!("{id}/products")), &body);
    r.credential = Credential::Catalog;
    Ok(r)
}

#[derive(Deserialize)]
struct Created {
    id: String,
}

/// Read a created product's id.
pub fn read_created(status: u16, body: &[u8]) -> Result<String, Error> {
    Ok(read_json::<Created>(status, body)?.id)
}

/// `GET /{catalog-id}/check_batch_request_status?handle=…`.
pub fn status_request(s: &Settings, catalog_id: &str, handle: &str) -> Result<Request, Error> {
    let id = check_node_id("catalog-id", catalog_id)?;
    if handle.trim().is_empty() {
        return Err(Error::invalid("handle", "must not be empty"));
    }
    let mut r = Request::get(s.url(&format!(
        "{id}/check_batch_request_status?handle={}",
        encode_query(handle)
    )));
    r.credential = Credential::Catalog;
    Ok(r)
}

/// One item Meta refused in a batch.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ItemError {
    /// The item's retailer id.
    #[serde(default)]
    pub id: Option<String>,
    /// Why.
    #[serde(default)]
    pub message: String,
}

/// Where a batch stands.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BatchStatus {
    /// Its handle.
    #[serde(default)]
    pub handle: String,
    /// `started`, `in_progress` or `finished`.
    #[serde(default)]
    pub status: String,
    /// The items it refused.
    #[serde(default)]
    pub errors: Vec<ItemError>,
}

#[derive(Deserialize)]
struct StatusPage {
    #[serde(default)]
    data: Vec<BatchStatus>,
}

/// Read a batch's status.
pub fn read_status(status: u16, body: &[u8]) -> Result<BatchStatus, Error> {
    read_json::<StatusPage>(status, body)?
        .data
        .into_iter()
        .next()
        .ok_or_else(|| Error::Other("Meta answered no status for this handle".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(id: &str) -> Product {
        Product {
            retailer_id: id.into(),
            name: "Aloe Blue Elf".into(),
            price_minor: 1299,
            currency: "USD".into(),
            availability: "in stock".into(),
            image_url: "https://shop.example/aloe.jpg".into(),
            ..Product::default()
        }
    }

    #[test]
    fn products_are_checked_field_by_field() {
        assert!(product("sku-1").validate().is_ok());
        let field = |p: Product| match p.validate() {
            Err(Error::InvalidInput { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            field(Product {
                retailer_id: " ".into(),
                ..product("x")
            }),
            "retailer-id"
        );
        assert_eq!(
            field(Product {
                currency: "usd".into(),
                ..product("x")
            }),
            "currency"
        );
        assert_eq!(
            field(Product {
                availability: "yes".into(),
                ..product("x")
            }),
            "availability"
        );
        assert_eq!(
            field(Product {
                image_url: "http://x/a.jpg".into(),
                ..product("x")
            }),
            "image-url"
        );
        assert_eq!(
            field(Product {
                name: "n".repeat(151),
                ..product("x")
            }),
            "name"
        );
        assert_eq!(price_text(1299, "USD"), "12.99 USD");
        assert_eq!(price_text(1299, "JPY"), "1299 JPY");
        assert_eq!(price_text(1250, "KWD"), "1.250 KWD");
        assert_eq!(minor_units("12.99", "USD"), Some(1299));
        assert_eq!(minor_units("12.9", "USD"), Some(1290));
        assert_eq!(minor_units("1500", "JPY"), Some(1500));
        assert_eq!(minor_units("15.5", "JPY"), None);
        assert_eq!(minor_units("1.25", "KWD"), Some(1250));
        assert_eq!(minor_units("1.2345", "KWD"), None);
        assert_eq!(minor_units("x", "USD"), None);
        assert_eq!(minor_units("-1", "USD"), None);
        assert_eq!(minor_units("99999999999999999999", "USD"), None);
    }

    #[test]
    fn batches_are_chunked_at_metas_limit_and_bad_items_reported() {
        let s = Settings::from_pairs([]);
        let mut ps: Vec<Product> = (0..BATCH_MAX + 2)
            .map(|i| product(&format!("sku-{i}")))
            .collect();
        ps[3].currency = "dollars".into();
        let (chunks, refused) = upsert_requests(&s, "123", &ps).unwrap();
        assert_eq!(chunks.len(), 2);
        assert_eq!(
            chunks[1].items,
            vec![(BATCH_MAX as u32 + 1, format!("sku-{}", BATCH_MAX + 1))]
        );
        let reqs: Vec<&Request> = chunks.iter().map(|c| &c.request).collect();
        assert_eq!(refused.len(), 1);
        assert_eq!(
            (refused[0].index, refused[0].retailer_id.as_str()),
            (3, "sku-3")
        );
        let first: Value = serde_json::from_slice(reqs[0].body.as_ref().unwrap()).unwrap();
        assert_eq!(first["requests"].as_array().unwrap().len(), BATCH_MAX);
        assert_eq!(first["requests"][0]["data"]["price"], "12.99 USD");
        assert_eq!(reqs[0].credential, Credential::Catalog);
        assert_eq!(delete_requests(&s, "123", &["a".into()]).unwrap().len(), 1);
    }
}
