//! `catalog`: the WIT operations onto `core::catalog` (the catalog token when the
//! tenant has one).

use super::Component;
use super::bindings::exports::whatsapp::cloud_api::catalog as wit;
use super::bindings::whatsapp::cloud_api::types::Error;
use super::convert::err;
use super::tenant::Tenant;
use crate::core::catalog::{self as c, Product};
use crate::core::graph::Request;
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

/// Send each batch; the handles.
fn send(tenant: &Tenant, requests: &[Request]) -> Result<Vec<String>> {
    let mut handles = Vec::new();
    for r in requests {
        let (status, body) = tenant.call(r)?;
        handles.extend(c::read_handles(status, &body).map_err(err)?);
    }
    Ok(handles)
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
        let (requests, refused) =
            c::upsert_requests(&tenant.settings, &catalog_id, &products).map_err(err)?;
        let handles = send(&tenant, &requests)?;
        Ok(wit::BatchResult {
            handles,
            sent: (products.len() - refused.len()) as u32,
            refused: refused
                .into_iter()
                .map(|r| wit::ItemError {
                    index: Some(r.index),
                    retailer_id: Some(r.retailer_id),
                    reason: r.reason,
                })
                .collect(),
        })
    }

    fn delete_products(catalog_id: String, retailer_ids: Vec<String>) -> Result<wit::BatchResult> {
        let tenant = Tenant::bind();
        let requests =
            c::delete_requests(&tenant.settings, &catalog_id, &retailer_ids).map_err(err)?;
        Ok(wit::BatchResult {
            handles: send(&tenant, &requests)?,
            sent: retailer_ids.len() as u32,
            refused: Vec::new(),
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
}
