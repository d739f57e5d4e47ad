//! Catalog end to end through component, host and sandbox, with a catalog connected by
//! its own token: products upserted in batches chunked at Meta's 5,000, bad items
//! reported locally and by the batch status, a single product created, deletes, and a
//! tenant without the catalog token refused.

use whatsapp_host::api::{Error, ErrorKind, ProductInput};
use whatsapp_host::storage::KvBackend;
use whatsapp_tests::{Harness, quiet};

const CATALOG: &str = "1234567890";
const CATALOG_TOKEN: &str = "harness-catalog-token";

fn product(i: usize) -> ProductInput {
    ProductInput {
        retailer_id: format!("sku-{i}"),
        name: format!("Succulent {i}"),
        description: None,
        price_minor: 1299 + i as u64,
        currency: "USD".into(),
        availability: "in stock".into(),
        condition: None,
        image_url: format!("https://shop.example/{i}.jpg"),
        url: Some(format!("https://shop.example/p/{i}")),
        brand: Some("Lucky Shrub".into()),
    }
}

async fn harness() -> Harness {
    let h = Harness::start_with(quiet(), |c| c.catalog_token = Some(CATALOG_TOKEN.into())).await;
    // The catalog token, connected separately, sealed where the component reads it.
    let sealed = h.vault.seal(&h.tenant.id, CATALOG_TOKEN.as_bytes());
    h.db.set(&h.tenant.id, "secrets", "catalog-token", &sealed)
        .unwrap();
    h
}

#[tokio::test]
async fn products_are_pushed_in_batches_and_every_refusal_is_reported() {
    let h = harness().await;
    let mut products: Vec<ProductInput> = (0..5003).map(product).collect();
    products[10].currency = "dollars".into(); // refused locally
    let r = h
        .instance()
        .await
        .upsert_products(CATALOG, &products)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.handles.len(), 2, "5,002 items: two calls");
    assert_eq!(r.sent, 5002);
    assert_eq!(r.refused.len(), 1);
    assert_eq!(
        (r.refused[0].index, r.refused[0].retailer_id.as_deref()),
        (Some(10), Some("sku-10"))
    );
    assert!(r.refused[0].reason.starts_with("currency"));
    for handle in &r.handles {
        let first = h
            .instance()
            .await
            .check_batch(CATALOG, handle)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(first.status, "in_progress");
        let done = h
            .instance()
            .await
            .check_batch(CATALOG, handle)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((done.status.as_str(), done.errors.len()), ("finished", 0));
    }
    let page = h
        .instance()
        .await
        .list_products(CATALOG, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(page.products.len(), 5002);
    // A delete of one that exists and one that does not: Meta's batch status says which.
    let r = h
        .instance()
        .await
        .delete_products(CATALOG, &["sku-1".into(), "sku-nope".into()])
        .await
        .unwrap()
        .unwrap();
    let handle = &r.handles[0];
    h.instance()
        .await
        .check_batch(CATALOG, handle)
        .await
        .unwrap()
        .unwrap();
    let done = h
        .instance()
        .await
        .check_batch(CATALOG, handle)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.errors.len(), 1);
    assert_eq!(done.errors[0].retailer_id.as_deref(), Some("sku-nope"));
    let page = h
        .instance()
        .await
        .list_products(CATALOG, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(page.products.len(), 5001);
}

#[tokio::test]
async fn a_single_product_is_created_and_a_bad_one_refused_with_its_field() {
    let h = harness().await;
    let id = h
        .instance()
        .await
        .create_product(CATALOG, &product(1))
        .await
        .unwrap()
        .unwrap();
    assert!(!id.is_empty());
    let again = h
        .instance()
        .await
        .create_product(CATALOG, &product(1))
        .await
        .unwrap();
    assert!(
        matches!(again, Err(Error { kind: ErrorKind::Meta, graph: Some(ref g), .. }) if g.code == 100),
        "{again:?}"
    );
    let mut bad = product(2);
    bad.image_url = "http://shop.example/2.jpg".into();
    let r = h
        .instance()
        .await
        .create_product(CATALOG, &bad)
        .await
        .unwrap();
    assert!(
        matches!(r, Err(Error { kind: ErrorKind::InvalidInput, field: Some(ref f), .. }) if f == "image-url"),
        "{r:?}"
    );
}

#[tokio::test]
async fn without_the_catalog_token_the_catalog_refuses() {
    // The harness tenant has only its WhatsApp token, which this catalog does not take.
    let h = Harness::start_with(quiet(), |c| c.catalog_token = Some(CATALOG_TOKEN.into())).await;
    let r = h
        .instance()
        .await
        .upsert_products(CATALOG, &[product(1)])
        .await
        .unwrap();
    assert!(
        matches!(r, Err(Error { kind: ErrorKind::Unauthorized, graph: Some(ref g), .. }) if g.code == 190),
        "{r:?}"
    );
}
