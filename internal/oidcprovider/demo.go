package oidcprovider

import "github.com/lookfor-edu/lookfor/internal/demo"

// DemoUsers are the demo network's people who sign in (everyone but teachers): username = staff
// id, the given password, the roster email (verified) and the subject "dev-" + staff id.
func DemoUsers(n demo.Roster, password string) []User {
	var users []User
	for _, s := range n.Staff {
		if s.Role != "teacher" {
			users = append(users, User{Subject: "dev-" + s.ID, Username: s.ID, Password: password,
				Email: s.Email, EmailVerified: true, GivenName: s.GivenName, FamilyName: s.FamilyName})
		}
	}
	for _, s := range n.NetworkStaff {
		users = append(users, User{Subject: "dev-" + s.StaffID, Username: s.StaffID, Password: password,
			Email: s.Email, EmailVerified: true, GivenName: s.GivenName, FamilyName: s.FamilyName})
	}
	return users
}
