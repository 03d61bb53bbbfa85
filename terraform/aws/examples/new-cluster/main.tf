# A new EKS cluster with RDS and ElastiCache in an existing VPC, and Tandem on it.
#   terraform init && terraform apply
# Then point tandem.example.com at the ALB the AWS Load Balancer Controller creates.

module "tandem" {
  source = "../.."

  name               = "tandem"
  region             = "eu-west-1"
  vpc_id             = "vpc-0123456789abcdef0"
  private_subnet_ids = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2", "subnet-0ccccccccccccccc3"]

  create_cluster                = true
  cluster_endpoint_public_cidrs = ["203.0.113.0/24"]

  image_repository = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/tandem"
  image_tag        = "0.1.0"
  public_url       = "https://tandem.example.com"
  superuser_emails = ["ops@example.com"]
  chart_path       = "../../../../helm/tandem"
}

output "database_endpoint" {
  value = module.tandem.database_endpoint
}
