# A regional GKE cluster, Cloud SQL and Memorystore in the default network, and Tandem on them.
#   terraform init && terraform apply
# Then point tandem.example.com at the ingress's address (kubectl -n tandem get ingress).

module "tandem" {
  source = "../.."

  project_id              = "my-project-123456"
  region                  = "europe-west1"
  master_authorized_cidrs = ["203.0.113.0/24"]

  image_repository = "europe-docker.pkg.dev/my-project-123456/tandem/tandem"
  public_url       = "https://tandem.example.com"
  superuser_emails = ["ops@example.com"]
  chart_path       = "../../../../helm/tandem"
}

output "connections_secret" {
  value = module.tandem.connections_secret
}
