# Tandem, RDS and ElastiCache next to an EKS cluster you already run (with the AWS Load
# Balancer Controller installed).

module "tandem" {
  source = "../.."

  region             = "us-east-1"
  vpc_id             = "vpc-0123456789abcdef0"
  private_subnet_ids = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2"]

  create_cluster = false
  cluster_name   = "platform"

  image_repository = "123456789012.dkr.ecr.us-east-1.amazonaws.com/tandem"
  public_url       = "https://cobrowse.example.com"
  chart_mode       = "split"
  chart_path       = "../../../../helm/tandem"
}
