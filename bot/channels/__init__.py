"""Our own Rasa input channels: thin adapters between a transport and Rasa.

Each one checks who is calling (a Twilio signature, a well-formed session id), parses the
transport's message, hands it to Rasa under a namespaced conversation id, and renders the
replies for the transport (TwiML, SMS text, Socket.IO events). Nothing else.
"""
