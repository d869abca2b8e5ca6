"""The French texts the platform writes to professionals: welcome kit, bounce notice, read receipt."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from services.messaging.domain.errors import BounceCode

PARIS = ZoneInfo("Europe/Paris")
WELCOME_SUBJECT = "Bienvenue sur Maillage : votre messagerie sécurisée de santé"
BOUNCE_SUBJECT = "Message non remis"
READ_SUBJECT = "Accusé de lecture"


def local(moment: datetime) -> str:
    return moment.astimezone(PARIS).strftime("%d/%m/%Y à %H:%M")


def welcome_text(display_name: str | None, mailbox: str, enrolment_id: str) -> str:
    greeting = f"Bonjour {display_name}," if display_name else "Bonjour,"
    return f"""{greeting}

Votre inscription à Maillage, le service numérique de coordination de votre territoire, est enregistrée
(référence d'inscription : {enrolment_id}).

Votre boîte aux lettres sécurisée de santé est ouverte : {mailbox}

Vous pouvez dès maintenant :
- échanger des messages signés et chiffrés avec les professionnels et établissements du territoire ;
- recevoir les avis d'hospitalisation et de sortie de vos patients ;
- alimenter le DMP de vos patients, notamment avec le Volet de Synthèse Médicale.

Pour vous connecter, utilisez Pro Santé Connect (carte CPS ou application e-CPS) depuis votre logiciel
métier. Votre certificat de chiffrement est celui publié pour cette boîte dans l'annuaire.

Ce kit d'accueil vous est adressé uniquement par messagerie sécurisée. Maillage ne vous demandera jamais
vos identifiants ni votre code de carte CPS, ni par courriel, ni par téléphone.

Bienvenue,
L'équipe Maillage
"""


def bounce_text(message_id: str, submitted_at: datetime, bounces: list[tuple[str, BounceCode]]) -> str:
    lines = "\n".join(f"- {address} : {code.reason} (code {code.value})" for address, code in bounces)
    plural = len(bounces) > 1
    return f"""Bonjour,

Votre message du {local(submitted_at)} (identifiant {message_id}) n'a pas pu être remis à {
        "ces destinataires" if plural else "ce destinataire"} :

{lines}

Les autres destinataires l'ont reçu normalement. Vérifiez l'adresse dans l'annuaire ou contactez le
destinataire par un autre moyen sécurisé.

Ce message est envoyé automatiquement par Maillage ; merci de ne pas y répondre.
"""


def read_text(reader: str, read_at: datetime, message_id: str) -> str:
    return f"""Bonjour,

Votre message (identifiant {message_id}) a été affiché par {reader} le {local(read_at)}.

Cet accusé de lecture vous est envoyé automatiquement par Maillage, à votre demande.
"""
