use agentkit::prelude::*;
use agentkit::tool;

#[derive(Deserialize)]
struct PriceOf {
    product: String,
}

/// Look up a price.
#[tool]
async fn price_of(args: PriceOf) -> Result<u32, String> {
    Ok(args.product.len() as u32)
}

fn main() {}
