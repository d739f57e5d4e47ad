//! `catalog`: the WIT operations onto `core::catalog` (the catalog token when the
//! tenant has one).

use super::Component;
use super::bindings::exports::whatsapp::cloud_api::catalog as wit;
use super::bindings::whatsapp::cloud_api::types::Error;
use super::convert::err;
use super::tenant::Tenant;
use crate::core::catalog::{self as c, Product};
use crate::core::listing;

type Result<T> = std::result::Result<T, Error>;

fn product(p: wit::ProductInput) -> Product {
    Product {
        retailer_id: p.retailer_id,
        name: p.name,
        description: p.description,
        price_minor: p.price_minor,
        currency: p.currency,
        availability: p.availability,
        condition: p.condition,
        image_url: p.image_url,
        url: p.url,
        brand: p.brand,
    }
}

/// Send each batch: the handles, and every item of a call that failed after an earlier
/// one was applied, with why (so the result says what was and was not). If the first
/// call fails, nothing was applied: its error is the answer.
fn send(tenant: &Tenant, chunks: &[c::Chunk]) -> Result<(Vec<String>, Vec<wit::ItemError>)> {
    let mut handles = Vec::new();
    let mut failed = Vec::new();
    for (n, chunk) in chunks.iter().enumerate() {
        let outcome = tenant
            .call(&chunk.request)
            .and_then(|(status, body)| c::read_handles(status, &body).map_err(err));
        match outcome {
            Ok(h) => handles.extend(h),
            Err(e) if n == 0 => return Err(e),
            Err(e) => {
                let reason = format!("the batch call failed: {}", e.message);
                failed.extend(chunk.items.iter().map(|(i, rid)| wit::ItemError {
                    index: Some(*i),
                    retailer_id: Some(rid.clone()),
                    reason: reason.clone(),
                }));
            }
        }
    }
    Ok((handles, failed))
}

impl wit::Guest for Component {
    fn list_products(catalog_id: String, after: Option<String>) -> Result<wit::ProductPage> {
        let tenant = Tenant::bind();
        let req = listing::list_products_request(&tenant.settings, &catalog_id, after.as_deref())
            .map_err(err)?;
        let (status, body) = tenant.call(&req)?;
        let page = listing::read_products(status, &body).map_err(err)?;
        Ok(wit::ProductPage {
            products: page
                .items
                .into_iter()
                .map(|p| wit::Product {
                    id: p.id,
                    retailer_id: p.retailer_id,
                    name: p.name,
                    price: p.price,
                    availability: p.availability,
                })
                .collect(),
            next: page.next,
        })
    }

    fn upsert_products(
        catalog_id: String,
        products: Vec<wit::ProductInput>,
    ) -> Result<wit::BatchResult> {
        let tenant = Tenant::bind();
        let products: Vec<Product> = products.into_iter().map(product).collect();
        let (chunks, refused) =
            c::upsert_requests(&tenant.settings, &catalog_id, &products).map_err(err)?;
        let (handles, failed) = send(&tenant, &chunks)?;
        let mut refused: Vec<wit::ItemError> = refused
            .into_iter()
            .map(|r| wit::ItemError {
                index: Some(r.index),
                retailer_id: Some(r.retailer_id),
                reason: r.reason,
            })
            .collect();
        let sent = (products.len() - refused.len() - failed.len()) as u32;
        refused.extend(failed);
        Ok(wit::BatchResult {
            handles,
            sent,
            refused,
        })
    }

    fn delete_products(catalog_id: String, retailer_ids: Vec<String>) -> Result<wit::BatchResult> {
        let tenant = Tenant::bind();
        let chunks =
            c::delete_requests(&tenant.settings, &catalog_id, &retailer_ids).map_err(err)?;
        let (handles, failed) = send(&tenant, &chunks)?;
        Ok(wit::BatchResult {
            handles,
            sent: (retailer_ids.len() - failed.len()) as u32,
            refused: failed,
        })
    }

    fn create_product(catalog_id: String, p: wit::ProductInput) -> Result<String> {
        let tenant = Tenant::bind();
        let req = c::create_request(&tenant.settings, &catalog_id, &product(p)).map_err(err)?;
        let (status, body) = tenant.call(&req)?;
        c::read_created(status, &body).map_err(err)
    }

    fn check_batch(catalog_id: String, handle: String) -> Result<wit::BatchStatus> {
        let tenant = Tenant::bind();
        let req = c::status_request(&tenant.settings, &catalog_id, &handle).map_err(err)?;
        let (status, body) = tenant.call(&req)?;
        let s = c::read_status(status, &body).map_err(err)?;
        Ok(wit::BatchStatus {
            handle: s.handle,
            status: s.status,
            errors: s
                .errors
                .into_iter()
                .map(|e| wit::ItemError {
                    index: None,
                    retailer_id: e.id,
                    reason: e.message,
                })
                .collect(),
        })
    }

    fn minor_units(amount: String, currency: String) -> Result<u64> {
        c::minor_units(&amount, &currency).ok_or_else(|| {
            err(crate::core::Error::invalid(
                "amount",
                format!("not a price in {currency} (digits, a point, at most its decimals)"),
            ))
        })
    }
}
