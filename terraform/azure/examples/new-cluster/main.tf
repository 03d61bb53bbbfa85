# An AKS cluster, PostgreSQL Flexible Server and Azure Cache for Redis in a new virtual network,
# and Tandem on them behind the application routing add-on's NGINX.
#   terraform init && terraform apply

module "tandem" {
  source = "../.."

  subscription_id             = "00000000-0000-0000-0000-000000000000"
  name                        = "tandem-prod"
  location                    = "westeurope"
  api_server_authorized_cidrs = ["203.0.113.0/24"]

  image_repository = "myregistry.azurecr.io/tandem"
  public_url       = "https://tandem.example.com"
  superuser_emails = ["ops@example.com"]
  chart_path       = "../../../../helm/tandem"
}

output "database_fqdn" {
  value = module.tandem.database_fqdn
}
