package review

import (
	"os"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// TestMain hashes at bcrypt's lowest cost: the tests are about what is checked, not how slowly
// (TestUnknownNameComparesAgainstAnEqualCostHash checks the costs agree, and the production one).
func TestMain(m *testing.M) {
	bcryptCost = bcrypt.MinCost
	os.Exit(m.Run())
}
