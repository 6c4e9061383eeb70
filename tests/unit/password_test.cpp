#include <gtest/gtest.h>

#include "auth/password.hpp"

using namespace mail;

TEST(Password, HashIsYescryptAndVerifies) {
    auto h = hash_password("correct horse");
    ASSERT_TRUE(h);
    EXPECT_EQ(h->substr(0, 3), "$y$");
    EXPECT_TRUE(verify_password("correct horse", *h));
    EXPECT_FALSE(verify_password("correct horsE", *h));
    EXPECT_NE(*hash_password("correct horse"), *h); // salted
}

// Known vectors made with other implementations (mkpasswd, doveadm pw, htpasswd).
TEST(Password, KnownVectors) {
    struct {
        const char* pw;
        const char* stored;
        bool ok;
    } cases[] = {
        // SHA-512 crypt, glibc test vector
        {"Hello world!", "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1", true},
        {"Hello world!", "{SHA512-CRYPT}$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1", true},
        {"Hello world!", "{CRYPT}$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1", true},
        {"hello world!", "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1", false},
        // SHA-256 crypt, glibc test vector
        {"Hello world!", "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5", true},
        // bcrypt, OpenBSD test vector ("U*U")
        {"U*U", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", true},
        {"U*U", "{BLF-CRYPT}$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", true},
        {"U*U", "$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", true},
        // refused schemes and garbage
        {"x", "{PLAIN}x", false},
        {"x", "x", false},
        {"x", "", false},
        {"x", "{SHA512-CRYPT", false},
    };
    for (auto& c : cases) EXPECT_EQ(verify_password(c.pw, c.stored), c.ok) << c.stored;
}

TEST(Password, NulRefused) {
    EXPECT_FALSE(hash_password(std::string("a\0b", 3)));
}
