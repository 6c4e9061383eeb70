#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/password.hpp"
#include "auth/sasl.hpp"
#include "auth/secret.hpp"

using namespace mail;

TEST(Password, HashIsYescryptAndVerifies) {
    auto h = hash_password("correct horse");
    ASSERT_TRUE(h);
    EXPECT_EQ(h->substr(0, 3), "$y$");
    EXPECT_TRUE(verify_password("correct horse", *h));
    EXPECT_FALSE(verify_password("correct horsE", *h));
    EXPECT_NE(*hash_password("correct horse"), *h); // salted
}

// An unknown user must cost what a known one costs: the decoy has the
// parameters (algorithm and cost, "$y$j9T$") of a hash made today.
TEST(Password, DecoyCostsWhatAUserCosts) {
    auto h = hash_password("x");
    ASSERT_TRUE(h);
    EXPECT_EQ(decoy_hash.substr(0, 7), h->substr(0, 7));
    EXPECT_EQ(decoy_hash.size(), h->size());
    EXPECT_FALSE(verify_password("decoy-password", decoy_hash));
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


TEST(SecretBox, SealAndUnseal) {
    std::string dir = ::testing::TempDir() + "/secret-" + std::to_string(getpid());
    std::string key = dir + ".key";
    ASSERT_TRUE(mail::SecretBox::create_key(key));
    struct stat st;
    ASSERT_EQ(stat(key.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    auto box = mail::SecretBox::open(key);
    ASSERT_TRUE(box);
    auto sealed = box->seal("p\xc3\xa4ss word", "alice@example.test/1");
    ASSERT_TRUE(sealed);
    EXPECT_TRUE(sealed->starts_with("v1:"));
    EXPECT_EQ(sealed->find("ss word"), std::string::npos);
    EXPECT_EQ(*box->unseal(*sealed, "alice@example.test/1"), "p\xc3\xa4ss word");
    EXPECT_NE(*sealed, *box->seal("p\xc3\xa4ss word", "alice@example.test/1")); // a new nonce each time
    EXPECT_EQ(box->unseal(*sealed, "bob@example.test/1").error().code, mail::Errc::data);
    std::string altered = *sealed;
    altered[10] = altered[10] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(box->unseal(altered, "alice@example.test/1"));
    EXPECT_FALSE(box->unseal("v1:", "x"));
    EXPECT_FALSE(box->unseal("plain", "x"));
    // Another key does not open it; create_key keeps an existing key.
    ASSERT_TRUE(mail::SecretBox::create_key(key));
    EXPECT_EQ(*mail::SecretBox::open(key)->unseal(*sealed, "alice@example.test/1"), "p\xc3\xa4ss word");
    std::string other = dir + "-other.key";
    ASSERT_TRUE(mail::SecretBox::create_key(other));
    EXPECT_FALSE(mail::SecretBox::open(other)->unseal(*sealed, "alice@example.test/1"));
    EXPECT_EQ(mail::SecretBox::open(dir + "-missing.key").error().code, mail::Errc::noinput);
    unlink(key.c_str());
    unlink(other.c_str());
}
