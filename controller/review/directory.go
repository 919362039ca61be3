package review

import "strings"

// Category is one of the "five disclosures" (五公开) an announcement belongs to.
type Category string

const (
	CatDecision   Category = "decision"   // 决策公开
	CatExecution  Category = "execution"  // 执行公开
	CatManagement Category = "management" // 管理公开
	CatService    Category = "service"    // 服务公开
	CatResult     Category = "result"     // 结果公开
)

// Categories lists the five disclosures in their customary order, with their names.
var Categories = []struct {
	Key  Category
	Name string
}{
	{CatDecision, "决策公开"}, {CatExecution, "执行公开"}, {CatManagement, "管理公开"}, {CatService, "服务公开"}, {CatResult, "结果公开"},
}

// Domains is the disclosure directory (公开目录) by domain: what an announcement is about.
var Domains = []struct {
	Key  string
	Name string
}{
	{"finance", "财政资金"},
	{"farm_subsidy", "惠农补贴"},
	{"village_affairs", "村务"},
	{"party_affairs", "党务"},
	{"emergency", "应急管理"},
	{"social_assistance", "社会救助"},
	{"land_acquisition", "土地征收"},
	{"other", "其他"},
}

// ParseCategory accepts a category by key (decision) or by name (决策公开, or 决策).
func ParseCategory(s string) (Category, bool) {
	s = strings.TrimSpace(s)
	for _, c := range Categories {
		if s == string(c.Key) || s == c.Name || s+"公开" == c.Name {
			return c.Key, true
		}
	}
	return "", false
}

// Name is the category's Chinese name.
func (c Category) Name() string {
	for _, x := range Categories {
		if x.Key == c {
			return x.Name
		}
	}
	return string(c)
}

// ParseDomain accepts a domain by key (finance) or by name (财政资金).
func ParseDomain(s string) (string, bool) {
	s = strings.TrimSpace(s)
	for _, d := range Domains {
		if s == d.Key || s == d.Name {
			return d.Key, true
		}
	}
	return "", false
}

// DomainName is a domain's Chinese name.
func DomainName(key string) string {
	for _, d := range Domains {
		if d.Key == key {
			return d.Name
		}
	}
	return key
}
