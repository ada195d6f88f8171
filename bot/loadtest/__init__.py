"""`debtbot loadtest` (bot/loadtest/run.py): locust through the cluster's nginx."""

# Enough conversations that one replica cannot keep up (on 2 cores its turn p50 is about a
# second), so that the runs compare what 1 and 2 replicas can serve. With 12, one replica kept up
# and both runs measured only the load they were offered.
DEFAULT_USERS = 32
DEFAULT_SECONDS = 60
